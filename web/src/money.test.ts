import { describe, expect, it } from "vitest";
import { formatAmount, parseAmount } from "./money";

describe("parseAmount", () => {
  it("turns units into minor units for the currency's exponent", () => {
    expect(parseAmount("12.5", 2)).toEqual({ minor: 1250 });
    expect(parseAmount(" 0.07 ", 2)).toEqual({ minor: 7 });
    expect(parseAmount("100", 2)).toEqual({ minor: 10000 });
    expect(parseAmount("1 000", 0)).toEqual({ minor: 1000 });
    expect(parseAmount("1.234", 3)).toEqual({ minor: 1234 });
  });

  it("says what is wrong with anything else", () => {
    expect(parseAmount("", 2)).toEqual({ error: "Enter an amount." });
    expect(parseAmount("12.345", 2)).toEqual({ error: "At most 2 decimal places." });
    expect(parseAmount("5.5", 0)).toEqual({ error: "This currency has no decimal places." });
    expect(parseAmount("1,000", 3)).toEqual({
      error: "Use a point for decimals and no thousands separators, like 12.500.",
    });
    expect(parseAmount("-3", 2)).toEqual({ error: "Enter an amount in figures, like 12.50." });
    expect(parseAmount("1e3", 2)).toEqual({ error: "Enter an amount in figures, like 12.50." });
    expect(parseAmount("0.00", 2)).toEqual({ error: "Enter an amount above zero." });
    expect(parseAmount("99999999999999999", 2)).toEqual({ error: "That amount is too large." });
  });
});

describe("formatAmount", () => {
  it("shows minor units in the currency's units, exactly", () => {
    expect(formatAmount(1050, "EUR", 2, "en-GB")).toBe("€10.50");
    expect(formatAmount(-7, "USD", 2, "en-US")).toBe("-$0.07");
    expect(formatAmount(1500, "JPY", 0, "en-US")).toBe("¥1,500");
    expect(formatAmount(900719925474099, "EUR", 2, "en-GB")).toBe("€9,007,199,254,740.99");
  });

  it("falls back to the code for a currency the browser does not know", () => {
    expect(formatAmount(1234, "XQQ1", 2, "en-GB")).toBe("12.34 XQQ1");
  });
});
