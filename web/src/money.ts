// Amounts travel as integers in the currency's minor units (cents for EUR, yen for JPY);
// people see and type them in the currency's units. These two functions are the only
// place the two meet.

/** "12.50" in a currency with `exponent` decimals, as minor units, or why it is not an amount. */
export function parseAmount(
  text: string,
  exponent: number,
): { minor: number } | { error: string } {
  const typed = text.trim().replace(/[\s\u00a0]/g, "");
  if (typed === "") return { error: "Enter an amount." };
  if (typed.includes(",")) {
    // A comma is a decimal point in some places and a thousands separator in others.
    return { error: `Use a point for decimals and no thousands separators, like ${example(exponent)}.` };
  }
  const match = /^(\d+)(?:\.(\d*))?$/.exec(typed);
  if (!match) {
    return { error: `Enter an amount in figures, like ${example(exponent)}.` };
  }
  const [, units, fraction = ""] = match;
  if (fraction.length > exponent) {
    return {
      error:
        exponent === 0
          ? "This currency has no decimal places."
          : `At most ${exponent} decimal places.`,
    };
  }
  const digits = (units + fraction.padEnd(exponent, "0")).replace(/^0+(?=\d)/, "");
  const minor = Number(digits);
  if (!Number.isSafeInteger(minor)) return { error: "That amount is too large." };
  if (minor === 0) return { error: "Enter an amount above zero." };
  return { minor };
}

function example(exponent: number): string {
  return exponent === 0 ? "1250" : `12.${"50".padEnd(exponent, "0").slice(0, exponent)}`;
}

/** Minor units as the currency's units, e.g. 1050 EUR (exponent 2) as "€10.50". */
export function formatAmount(
  minor: number,
  currency: string,
  exponent: number,
  locale?: string,
): string {
  const negative = minor < 0;
  const digits = Math.abs(minor).toString().padStart(exponent + 1, "0");
  const units = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  // Exact decimal text into the formatter, so no float rounding shows.
  const value = `${negative ? "-" : ""}${units}${exponent > 0 ? `.${fraction}` : ""}`;
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      minimumFractionDigits: exponent,
      maximumFractionDigits: exponent,
    }).format(value as unknown as number);
  } catch {
    return `${value} ${currency}`;
  }
}

/** Minor units in an account's currency, e.g. its balance. */
export function formatIn(
  account: { currency: string; currency_exponent: number },
  minor: number,
): string {
  return formatAmount(minor, account.currency, account.currency_exponent);
}
