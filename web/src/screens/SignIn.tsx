import { useState } from "react";
import { me, signIn } from "../api/bank";
import { ApiError } from "../api/client";
import { Field, FormMessage, SubmitButton, useSubmit } from "../components/forms";
import { Heading } from "../components/Heading";
import { Link } from "../components/Link";
import type { Session } from "../session";

export function SignIn({
  notice,
  onSignedIn,
}: {
  notice: string | null;
  onSignedIn: (session: Session) => void;
}) {
  const [identifier, setIdentifier] = useState("");
  const [password, setPassword] = useState("");
  const { errors, error, pending, form, submit } = useSubmit(emailAsUsername);

  const onSubmit = submit(async () => {
    const token = await signIn(identifier.trim(), password);
    const user = await me(token.access_token);
    onSignedIn({ token: token.access_token, user });
  });

  return (
    <main id="content" className="narrow">
      <Heading>Sign in</Heading>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form ref={form} onSubmit={onSubmit} noValidate aria-label="Sign in">
        <Field
          label="Username or email"
          name="username"
          autoComplete="username"
          value={identifier}
          error={errors.username}
          onChange={(event) => setIdentifier(event.target.value)}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          error={errors.password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <FormMessage error={error} />
        <SubmitButton pending={pending} busy="Signing in…">
          Sign in
        </SubmitButton>
      </form>
      <p>
        New here? <Link to="sign-up">Create an account</Link>
      </p>
    </main>
  );
}

/** The one field takes a username or an email: a problem with either belongs to it. */
function emailAsUsername(error: ApiError): ApiError {
  return new ApiError(
    error.status,
    error.code,
    error.message,
    error.fields.map((problem) =>
      problem.field === "email" ? { ...problem, field: "username" } : problem,
    ),
  );
}
