// The api's JSON, as the app reads it (see /openapi.json).

export interface User {
  id: string;
  username: string;
  email: string;
  full_name: string | null;
}

export interface Account {
  id: string;
  owner_id: string;
  name: string;
  currency: string;
  currency_exponent: number;
  balance: number;
  status: "open" | "closed";
  created_at: string;
}

export interface Entry {
  id: number;
  movement_id: string;
  kind: "deposit" | "withdrawal" | "transfer";
  amount: number;
  balance_after: number;
  counterparty_account_id: string | null;
  description: string | null;
  created_at: string;
}

export interface Movement {
  id: string;
  kind: "deposit" | "withdrawal" | "transfer";
  amount: number;
  currency: string;
}

export interface Notification {
  id: number;
  kind: string;
  message: string;
  created_at: string;
  read_at: string | null;
}

export interface Page {
  next?: string;
}

export interface AccountPage extends Page {
  accounts: Account[];
}

export interface EntryPage extends Page {
  entries: Entry[];
}

export interface NotificationPage extends Page {
  notifications: Notification[];
  unread: number;
}

export interface Token {
  access_token: string;
  expires_in: number;
}

export interface CurrencyList {
  currencies: { code: string; exponent: number }[];
}
