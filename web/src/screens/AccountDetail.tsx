import { useEffect, useRef, useState } from "react";
import { ApiError } from "../api/client";
import { account as readAccount, closeAccount, deposit, entries, withdraw } from "../api/bank";
import type { Account, Entry } from "../api/types";
import { useLoad } from "../api/useLoad";
import { FormMessage, SubmitButton, useSubmit } from "../components/forms";
import { MovementFields, NO_MOVEMENT, movementBody } from "../components/MovementFields";
import { Heading } from "../components/Heading";
import { LoadProblem } from "../components/LoadProblem";
import { Link } from "../components/Link";
import { RetryKey, sendOnce } from "../idempotency";
import { formatIn } from "../money";
import type { Session } from "../session";
import { closingError, movementError } from "./friendly";
import { mergeEntries, withNewestPage } from "../statement";

export function AccountDetail({
  session,
  id,
  changes,
}: {
  session: Session;
  id: string;
  changes: number;
}) {
  const [moved, setMoved] = useState(0);
  const account = useLoad(() => readAccount(session.token, id), `${id}:${changes}:${moved}`);
  const current = account.data;
  const money = (minor: number) =>
    current ? formatIn(current, minor) : "";

  return (
    <main id="content">
      <p>
        <Link to="accounts">← All accounts</Link>
      </p>
      <Heading>{current ? current.name : "Account"}</Heading>
      <LoadProblem loaded={account} />
      {current && (
        <>
          <p className="balance">
            Balance <strong data-testid="balance">{money(current.balance)}</strong>
            {current.status === "closed" && <span className="tag"> closed</span>}
          </p>
          <p className="meta">
            Account id (for transfers from others): <code data-testid="account-id">{current.id}</code>
          </p>
          {current.status === "open" && (
            <div className="columns">
              <MovementForm kind="deposit" session={session} account={current} onMoved={() => setMoved((n) => n + 1)} />
              <MovementForm kind="withdrawal" session={session} account={current} onMoved={() => setMoved((n) => n + 1)} />
            </div>
          )}
          <Statement session={session} account={current} version={`${changes}:${moved}`} />
          <CloseAccount session={session} account={current} onClosed={account.reload} />
        </>
      )}
    </main>
  );
}

function MovementForm({
  kind,
  session,
  account,
  onMoved,
}: {
  kind: "deposit" | "withdrawal";
  session: Session;
  account: Account;
  onMoved: () => void;
}) {
  const keys = useRef(new RetryKey());
  const [input, setInput] = useState(NO_MOVEMENT);
  const [done, setDone] = useState<string | null>(null);
  const { errors, error, pending, form, submit } = useSubmit(movementError(account));
  const title = kind === "deposit" ? "Deposit" : "Withdraw";
  const headingId = `${kind}-heading`;

  const onSubmit = submit(async () => {
    setDone(null);
    const body = movementBody(input, account.currency_exponent);
    const send = kind === "deposit" ? deposit : withdraw;
    const movement = await sendOnce(keys.current, { id: account.id, kind, body }, (key) =>
      send(session.token, account.id, body, key),
    );
    setInput(NO_MOVEMENT);
    const shown = formatIn(account, movement.amount);
    setDone(kind === "deposit" ? `Deposited ${shown}.` : `Withdrew ${shown}.`);
    onMoved();
  });

  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>{title}</h2>
      <form ref={form} onSubmit={onSubmit} noValidate aria-labelledby={headingId}>
        <MovementFields
          currency={account.currency}
          exponent={account.currency_exponent}
          input={input}
          onChange={setInput}
          errors={errors}
          error={error}
          done={done}
          pending={pending}
          action={title}
        />
      </form>
    </section>
  );
}

function Statement({
  session,
  account,
  version,
}: {
  session: Session;
  account: Account;
  version: string;
}) {
  const first = useLoad(() => entries(session.token, account.id), version);
  // Entries never change once written: the pages loaded so far stay, and a reload of the
  // newest page adds to the top, so a new movement does not take away the older pages
  // someone is reading.
  const [statement, setStatement] = useState<{ entries: Entry[]; next?: string }>({ entries: [] });
  useEffect(() => {
    if (first.data) setStatement((known) => withNewestPage(known, first.data!));
  }, [first.data]);
  const shown = statement.entries;
  const next = statement.next;
  const money = (minor: number) => formatIn(account, minor);

  const [loading, setLoading] = useState(false);
  const [moreError, setMoreError] = useState<string | null>(null);
  const loadMore = async () => {
    if (!next || loading) return;
    setLoading(true);
    setMoreError(null);
    try {
      const page = await entries(session.token, account.id, next);
      setStatement((known) => ({
        entries: mergeEntries(known.entries, page.entries),
        next: page.next,
      }));
    } catch (error) {
      setMoreError(error instanceof ApiError ? error.message : "Could not load older movements.");
    } finally {
      setLoading(false);
    }
  };

  return (
    <section aria-labelledby="statement-heading">
      <h2 id="statement-heading">Statement</h2>
      <LoadProblem loaded={first} />
      {first.data && shown.length === 0 && <p>No movements yet.</p>}
      {shown.length > 0 && (
        <table className="statement">
          <caption className="visually-hidden">Movements, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">Description</th>
              <th scope="col" className="number">
                Amount
              </th>
              <th scope="col" className="number">
                Balance
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((entry) => (
              <tr key={entry.id}>
                <td>{new Date(entry.created_at).toLocaleString()}</td>
                <td>{entry.description ?? describe(entry)}</td>
                <td className={entry.amount < 0 ? "number debit" : "number credit"}>
                  {money(entry.amount)}
                </td>
                <td className="number">{money(entry.balance_after)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {moreError && <p role="alert">{moreError}</p>}
      {next && (
        <button
          type="button"
          className="secondary"
          onClick={loadMore}
          aria-disabled={loading}
          aria-busy={loading}
        >
          {loading ? "Loading…" : "Show older movements"}
        </button>
      )}
    </section>
  );
}

function describe(entry: Entry): string {
  if (entry.kind === "deposit") return "Deposit";
  if (entry.kind === "withdrawal") return "Withdrawal";
  return entry.amount < 0 ? "Transfer out" : "Transfer in";
}

function CloseAccount({
  session,
  account,
  onClosed,
}: {
  session: Session;
  account: Account;
  onClosed: () => void;
}) {
  const { error, pending, form, submit } = useSubmit(closingError(account));
  const [justClosed, setJustClosed] = useState(false);
  const note = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    // The form (and the focused button) is gone: focus what took its place.
    if (justClosed && account.status === "closed") note.current?.focus();
  }, [justClosed, account.status]);
  const onSubmit = submit(async () => {
    await closeAccount(session.token, account.id);
    setJustClosed(true);
    onClosed();
  });
  if (account.status === "closed") {
    return (
      <p className="notice" role="status" tabIndex={-1} ref={note}>
        {account.name} is closed: it takes no more movements, and its statement stays here.
      </p>
    );
  }
  return (
    <section aria-labelledby="close-heading">
      <h2 id="close-heading">Close this account</h2>
      <form ref={form} onSubmit={onSubmit} noValidate aria-labelledby="close-heading">
        <p className="field-hint">Only an account with a zero balance can be closed.</p>
        <FormMessage error={error} />
        <SubmitButton pending={pending} busy="Closing…" className="danger">
          Close {account.name}
        </SubmitButton>
      </form>
    </section>
  );
}
