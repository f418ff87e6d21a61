// The api's endpoints the app uses, one function each.
import { call } from "./client";
import type {
  Account,
  AccountPage,
  EntryPage,
  Movement,
  NotificationPage,
  CurrencyList,
  Token,
  User,
} from "./types";

export const signIn = (identifier: string, password: string) =>
  call<Token>("/api/v1/auth/login", {
    body: identifier.includes("@")
      ? { email: identifier, password }
      : { username: identifier, password },
  });

export const signOut = (token: string) =>
  call<void>("/api/v1/auth/logout", { method: "POST", token });

export const signUp = (user: {
  username: string;
  email: string;
  password: string;
  full_name?: string;
}) => call<User>("/api/v1/users", { body: user });

export const me = (token: string) => call<User>("/api/v1/users/me", { token });

export const currencies = () =>
  call<CurrencyList>("/api/v1/currencies").then((list) => list.currencies.map((c) => c.code));

export async function allAccounts(token: string): Promise<Account[]> {
  const accounts: Account[] = [];
  let after: string | undefined;
  do {
    const query = new URLSearchParams({ size: "100" });
    if (after) query.set("after", after);
    const page = await call<AccountPage>(`/api/v1/accounts?${query}`, { token });
    accounts.push(...page.accounts);
    after = page.next;
  } while (after);
  return accounts;
}

export const account = (token: string, id: string) =>
  call<Account>(`/api/v1/accounts/${encodeURIComponent(id)}`, { token });

export const openAccount = (token: string, name: string, currency: string) =>
  call<Account>("/api/v1/accounts", { token, body: { name, currency } });

export const closeAccount = (token: string, id: string) =>
  call<Account>(`/api/v1/accounts/${encodeURIComponent(id)}/close`, { token, method: "POST" });

export const entries = (token: string, id: string, after?: string) => {
  const query = new URLSearchParams({ size: "20" });
  if (after) query.set("after", after);
  return call<EntryPage>(`/api/v1/accounts/${encodeURIComponent(id)}/entries?${query}`, { token });
};

export interface MovementBody {
  amount: number;
  description?: string;
}

export const deposit = (token: string, id: string, body: MovementBody, key: string) =>
  call<Movement>(`/api/v1/accounts/${encodeURIComponent(id)}/deposits`, {
    token,
    body,
    headers: { "Idempotency-Key": key },
  });

export const withdraw = (token: string, id: string, body: MovementBody, key: string) =>
  call<Movement>(`/api/v1/accounts/${encodeURIComponent(id)}/withdrawals`, {
    token,
    body,
    headers: { "Idempotency-Key": key },
  });

export interface TransferBody extends MovementBody {
  from_account_id: string;
  to_account_id: string;
}

export const transfer = (token: string, body: TransferBody, key: string) =>
  call<Movement>("/api/v1/transfers", { token, body, headers: { "Idempotency-Key": key } });

export const notifications = (token: string) =>
  call<NotificationPage>("/api/v1/notifications?size=20", { token });

export const markRead = (token: string, id: number) =>
  call<unknown>(`/api/v1/notifications/${id}/read`, { token, method: "POST" });

export const markAllRead = (token: string) =>
  call<unknown>("/api/v1/notifications/read", { token, method: "POST" });
