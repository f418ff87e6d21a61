import { useRef, useState } from "react";
import { allAccounts, transfer } from "../api/bank";
import { useLoad } from "../api/useLoad";
import { Field, LocalProblems, SelectField, useSubmit } from "../components/forms";
import { MovementFields, NO_MOVEMENT, movementBody } from "../components/MovementFields";
import { Heading } from "../components/Heading";
import { LoadProblem } from "../components/LoadProblem";
import { RetryKey, sendOnce } from "../idempotency";
import { formatIn } from "../money";
import type { Session } from "../session";
import { movementError } from "./friendly";

/** The "to" choice that reveals a field for someone else's account id. */
const ELSEWHERE = "elsewhere";

export function Transfer({ session, changes }: { session: Session; changes: number }) {
  const [moved, setMoved] = useState(0);
  const accounts = useLoad(() => allAccounts(session.token), `${changes}:${moved}`);
  const open = (accounts.data ?? []).filter((account) => account.status === "open");
  const keys = useRef(new RetryKey());
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [otherId, setOtherId] = useState("");
  const [input, setInput] = useState(NO_MOVEMENT);
  const [done, setDone] = useState<string | null>(null);

  const source = open.find((account) => account.id === from) ?? open[0];
  const targets = open.filter(
    (account) => account.id !== source?.id && account.currency === source?.currency,
  );
  const target = to === ELSEWHERE ? ELSEWHERE : (targets.find((a) => a.id === to) ?? targets[0])?.id ?? ELSEWHERE;
  const { errors, error, pending, form, submit } = useSubmit(movementError(source));

  const onSubmit = submit(async () => {
    setDone(null);
    if (!source) throw new LocalProblems({ from_account_id: "Open an account first." });
    const toId = target === ELSEWHERE ? otherId.trim() : target;
    if (toId === "") throw new LocalProblems({ to_account_id: "Enter the account id to send to." });
    const body = {
      from_account_id: source.id,
      to_account_id: toId,
      ...movementBody(input, source.currency_exponent),
    };
    const movement = await sendOnce(keys.current, body, (key) => transfer(session.token, body, key));
    const recipient = open.find((account) => account.id === toId)?.name ?? "the other account";
    setDone(
      `Sent ${formatIn(source, movement.amount)} from ${source.name} to ${recipient}.`,
    );
    setInput(NO_MOVEMENT);
    setMoved((n) => n + 1);
  });

  return (
    <main id="content" className="narrow">
      <Heading>Transfer money</Heading>
      <LoadProblem loaded={accounts} />
      {accounts.data && open.length === 0 && <p>Open an account before making a transfer.</p>}
      {source && (
        <form ref={form} onSubmit={onSubmit} noValidate aria-label="Transfer money">
          <SelectField
            label="From"
            name="from_account_id"
            value={source.id}
            error={errors.from_account_id}
            onChange={(event) => setFrom(event.target.value)}
          >
            {open.map((account) => (
              <option key={account.id} value={account.id}>
                {account.name} ·{" "}
                {formatIn(account, account.balance)}
              </option>
            ))}
          </SelectField>
          <SelectField
            label="To"
            name={target === ELSEWHERE ? "to_choice" : "to_account_id"}
            value={target}
            error={target === ELSEWHERE ? undefined : errors.to_account_id}
            onChange={(event) => setTo(event.target.value)}
          >
            {targets.map((account) => (
              <option key={account.id} value={account.id}>
                {account.name}
              </option>
            ))}
            <option value={ELSEWHERE}>Someone else's account…</option>
          </SelectField>
          {target === ELSEWHERE && (
            <Field
              label="Their account id"
              name="to_account_id"
              hint={`An account in ${source.currency}; its holder can read the id on their account page`}
              autoComplete="off"
              spellCheck={false}
              value={otherId}
              error={errors.to_account_id}
              onChange={(event) => setOtherId(event.target.value)}
            />
          )}
          <MovementFields
            currency={source.currency}
            exponent={source.currency_exponent}
            input={input}
            onChange={setInput}
            errors={errors}
            error={error}
            done={done}
            pending={pending}
            action="Send money"
          />
        </form>
      )}
    </main>
  );
}
