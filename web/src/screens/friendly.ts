import { ApiError } from "../api/client";
import { formatAmount } from "../money";
import type { Account } from "../api/types";

/** The api's movement refusals in the words of someone holding the account. */
export function movementError(from: Account | undefined) {
  return (error: ApiError): ApiError | string => {
    if (error.code === "insufficient_funds") {
      const holds = from
        ? ` ${from.name} holds ${formatAmount(from.balance, from.currency, from.currency_exponent)}.`
        : "";
      return new ApiError(error.status, error.code, error.message, [
        { field: "amount", message: `More than the account holds.${holds}` },
      ]);
    }
    if (error.status === 0 || error.status >= 500) {
      return `${error.message} Trying again is safe: the money moves at most once.`;
    }
    return error;
  };
}
