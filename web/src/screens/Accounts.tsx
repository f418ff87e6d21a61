import { useState } from "react";
import { allAccounts, currencies, openAccount } from "../api/bank";
import { useLoad } from "../api/useLoad";
import { Field, FormMessage, SubmitButton, SelectField, useSubmit } from "../components/forms";
import { Heading } from "../components/Heading";
import { LoadProblem } from "../components/LoadProblem";
import { Link } from "../components/Link";
import { formatIn } from "../money";
import type { Session } from "../session";

export function Accounts({ session, changes }: { session: Session; changes: number }) {
  const accounts = useLoad(() => allAccounts(session.token), changes);
  return (
    <main id="content">
      <Heading>Your accounts</Heading>
      <LoadProblem loaded={accounts} />
      {accounts.data === null && !accounts.error && <p>Loading your accounts…</p>}
      {accounts.data?.length === 0 && <p>You have no accounts yet. Open one below.</p>}
      {accounts.data && accounts.data.length > 0 && (
        <table className="accounts">
          <caption className="visually-hidden">Your accounts and their balances</caption>
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Currency</th>
              <th scope="col" className="number">
                Balance
              </th>
            </tr>
          </thead>
          <tbody>
            {accounts.data.map((account) => (
              <tr key={account.id} className={account.status === "closed" ? "closed" : undefined}>
                <th scope="row">
                  <Link to={`accounts/${account.id}`}>{account.name}</Link>
                  {account.status === "closed" && <span className="tag"> closed</span>}
                </th>
                <td>{account.currency}</td>
                <td className="number">
                  {formatIn(account, account.balance)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <OpenAccount session={session} onOpened={accounts.reload} />
    </main>
  );
}

function OpenAccount({ session, onOpened }: { session: Session; onOpened: () => void }) {
  const offered = useLoad(currencies, "currencies");
  const [name, setName] = useState("");
  const [currency, setCurrency] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const { errors, error, pending, form, submit } = useSubmit();
  const chosen = currency || offered.data?.[0] || "";

  const onSubmit = submit(async () => {
    setDone(null);
    const opened = await openAccount(session.token, name.trim(), chosen);
    setName("");
    setDone(`Opened ${opened.name} (${opened.currency}).`);
    onOpened();
  });

  return (
    <section aria-labelledby="open-account">
      <h2 id="open-account">Open an account</h2>
      <form ref={form} onSubmit={onSubmit} noValidate aria-labelledby="open-account">
        <Field
          label="Account name"
          name="name"
          value={name}
          error={errors.name}
          onChange={(event) => setName(event.target.value)}
        />
        <SelectField
          label="Currency"
          name="currency"
          value={chosen}
          error={errors.currency ?? offered.error ?? undefined}
          onChange={(event) => setCurrency(event.target.value)}
        >
          {(offered.data ?? []).map((code) => (
            <option key={code} value={code}>
              {code}
            </option>
          ))}
        </SelectField>
        <FormMessage error={error} done={done} />
        <SubmitButton pending={pending} busy="Opening…">
          Open account
        </SubmitButton>
      </form>
    </section>
  );
}
