import { ApiError } from "../api/client";
import type { Account } from "../api/types";
import { formatIn } from "../money";

const holds = (account: Account | undefined) =>
  account
    ? ` ${account.name} holds ${formatIn(account, account.balance)}.`
    : "";

/** The api's movement refusals in the words of someone holding the account. */
export function movementError(from: Account | undefined) {
  return (error: ApiError): ApiError | string => {
    if (error.code === "insufficient_funds") {
      return new ApiError(error.status, error.code, error.message, [
        { field: "amount", message: `More than the account holds.${holds(from)}` },
      ]);
    }
    if (error.code === "idempotency_key_in_use") {
      return "This request is still being carried out. Wait a moment, then send it again from this form to see how it ended.";
    }
    if (error.unanswered) {
      return "No answer came from the bank, so this may or may not have been done. Send it again from this form to find out: the bank carries out the same request at most once.";
    }
    return error;
  };
}

/** Closing refused because money is left: say how much, in the account's units. */
export function closingError(account: Account) {
  return (error: ApiError): ApiError | string =>
    error.code === "account_not_empty"
      ? `Only an empty account can be closed: move its money out first.${holds(account)}`
      : error;
}
