// Labelled fields that show the api's field errors beside themselves, and the submit
// logic every form shares: one request at a time, errors placed, focus moved to them.
import {
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
  type FormEvent,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
} from "react";
import { ApiError, sentence } from "../api/client";

export type FieldErrors = Record<string, string>;

/** Problems found before anything is sent (an amount that is not a number, say). */
export class LocalProblems extends Error {
  readonly fields: FieldErrors;
  constructor(fields: FieldErrors) {
    super("Check the fields marked.");
    this.fields = fields;
  }
}

interface FieldShellProps {
  label: string;
  name: string;
  error?: string;
  hint?: ReactNode;
  children: (control: {
    id: string;
    name: string;
    "aria-invalid": boolean;
    "aria-describedby"?: string;
  }) => ReactNode;
}

function FieldShell({ label, name, error, hint, children }: FieldShellProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null]
    .filter(Boolean)
    .join(" ");
  return (
    <div className={error ? "field field--invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p id={`${id}-hint`} className="field-hint">
          {hint}
        </p>
      )}
      {children({
        id,
        name,
        "aria-invalid": Boolean(error),
        "aria-describedby": described || undefined,
      })}
      {error && (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "name" | "id"> & {
  label: string;
  name: string;
  error?: string;
  hint?: ReactNode;
};

export function Field({ label, name, error, hint, ...input }: InputProps) {
  return (
    <FieldShell label={label} name={name} error={error} hint={hint}>
      {(control) => <input {...control} {...input} />}
    </FieldShell>
  );
}

type SelectProps = Omit<SelectHTMLAttributes<HTMLSelectElement>, "name" | "id"> & {
  label: string;
  name: string;
  error?: string;
  hint?: ReactNode;
};

export function SelectField({ label, name, error, hint, children, ...select }: SelectProps) {
  return (
    <FieldShell label={label} name={name} error={error} hint={hint}>
      {(control) => (
        <select {...control} {...select}>
          {children}
        </select>
      )}
    </FieldShell>
  );
}

/** A form's own message: an error (announced at once) or a confirmation. */
export function FormMessage({ error, done }: { error: string | null; done?: string | null }) {
  if (error) {
    return (
      <p className="form-error" role="alert" tabIndex={-1}>
        {error}
      </p>
    );
  }
  return (
    <p className="form-done" role="status">
      {done ?? ""}
    </p>
  );
}

export interface FormState {
  errors: FieldErrors;
  error: string | null;
  pending: boolean;
}

/**
 * Runs a form's action: ignores a second submit while one is under way, puts each of the
 * api's field errors beside its field (by the field's `name`) and anything else in the
 * form's message, then moves focus to the first problem.
 */
export function useSubmit(friendly: (error: ApiError) => ApiError | string = (e) => e) {
  const [state, setState] = useState<FormState>({ errors: {}, error: null, pending: false });
  const form = useRef<HTMLFormElement>(null);
  const running = useRef(false);
  const [focusProblem, setFocusProblem] = useState(0);

  useEffect(() => {
    if (focusProblem === 0 || !form.current) return;
    const target =
      form.current.querySelector<HTMLElement>("[aria-invalid='true']") ??
      form.current.querySelector<HTMLElement>("[role='alert']");
    target?.focus();
  }, [focusProblem]);

  const submit = useCallback(
    (action: () => Promise<void>) => async (event?: FormEvent) => {
      event?.preventDefault();
      if (running.current) return;
      running.current = true;
      setState({ errors: {}, error: null, pending: true });
      try {
        await action();
        setState({ errors: {}, error: null, pending: false });
      } catch (thrown) {
        setState({ ...placeProblems(thrown, form.current, friendly), pending: false });
        setFocusProblem((n) => n + 1);
      } finally {
        running.current = false;
      }
    },
    [friendly],
  );

  return { ...state, form, submit };
}

function placeProblems(
  thrown: unknown,
  form: HTMLFormElement | null,
  friendly: (error: ApiError) => ApiError | string,
): { errors: FieldErrors; error: string | null } {
  if (thrown instanceof LocalProblems) return { errors: thrown.fields, error: null };
  if (!(thrown instanceof ApiError)) {
    return { errors: {}, error: "Something went wrong in the app. Reload the page and try again." };
  }
  const shown = friendly(thrown);
  if (typeof shown === "string") return { errors: {}, error: shown };
  const named = new Set(
    Array.from(form?.elements ?? [], (element) => (element as HTMLInputElement).name),
  );
  const errors: FieldErrors = {};
  const unplaced: string[] = [];
  for (const problem of shown.fields) {
    const message = sentence(problem.message);
    if (named.has(problem.field) && !errors[problem.field]) errors[problem.field] = message;
    else unplaced.push(message);
  }
  if (shown.fields.length === 0) return { errors, error: shown.message };
  // A problem with no field of its own on this form: its message, not the summary.
  return { errors, error: unplaced.length > 0 ? unplaced.join(" ") : null };
}


/** A form's submit button: inert, and saying so, while the form's request is under way. */
export function SubmitButton({
  pending,
  busy,
  className,
  children,
}: {
  pending: boolean;
  busy: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
    // `useSubmit` ignores a second submit while one is under way.
    <button type="submit" className={className} aria-disabled={pending} aria-busy={pending}>
      {pending ? busy : children}
    </button>
  );
}
