// The fields every money movement has (amount, description), its message and its button.
import { Field, FormMessage, LocalProblems, SubmitButton, type FieldErrors } from "./forms";
import { parseAmount } from "../money";

export interface MovementInput {
  amount: string;
  description: string;
}

export function MovementFields({
  currency,
  exponent,
  input,
  onChange,
  errors,
  error,
  done,
  pending,
  action,
}: {
  currency: string;
  exponent: number;
  input: MovementInput;
  onChange: (input: MovementInput) => void;
  errors: FieldErrors;
  error: string | null;
  done: string | null;
  pending: boolean;
  action: string;
}) {
  return (
    <>
      <Field
        label={`Amount (${currency})`}
        name="amount"
        inputMode={exponent > 0 ? "decimal" : "numeric"}
        autoComplete="off"
        hint={
          exponent > 0
            ? `In ${currency}, up to ${exponent} decimal places, like ${(12.5).toFixed(exponent)}`
            : `In whole ${currency}`
        }
        error={errors.amount}
        value={input.amount}
        onChange={(event) => onChange({ ...input, amount: event.target.value })}
      />
      <Field
        label="Description (optional)"
        name="description"
        value={input.description}
        error={errors.description}
        onChange={(event) => onChange({ ...input, description: event.target.value })}
      />
      <FormMessage error={error} done={done} />
      <SubmitButton pending={pending} busy="Sending…">
        {action}
      </SubmitButton>
    </>
  );
}

export const NO_MOVEMENT: MovementInput = { amount: "", description: "" };

/** The request body's amount (minor units) and description, or the field's error
 * (thrown for `useSubmit`). */
export function movementBody(input: MovementInput, exponent: number) {
  const parsed = parseAmount(input.amount, exponent);
  if ("error" in parsed) throw new LocalProblems({ amount: parsed.error });
  const description = input.description.trim();
  return { amount: parsed.minor, ...(description ? { description } : {}) };
}
