import { Field } from "./forms";
import { parseAmount } from "../money";
import { LocalProblems } from "./forms";

export function AmountField({
  currency,
  exponent,
  error,
  value,
  onChange,
}: {
  currency: string;
  exponent: number;
  error?: string;
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <Field
      label={`Amount (${currency})`}
      name="amount"
      inputMode={exponent > 0 ? "decimal" : "numeric"}
      autoComplete="off"
      hint={
        exponent > 0
          ? `In ${currency}, up to ${exponent} decimal places, like ${(1250 / 10 ** 2).toFixed(exponent)}`
          : `In whole ${currency}`
      }
      error={error}
      value={value}
      onChange={(event) => onChange(event.target.value)}
    />
  );
}

/** The typed amount in minor units, or the field's error (thrown for `useSubmit`). */
export function minorUnits(typed: string, exponent: number): number {
  const parsed = parseAmount(typed, exponent);
  if ("error" in parsed) throw new LocalProblems({ amount: parsed.error });
  return parsed.minor;
}
