import { useState } from "react";
import { me, signIn, signUp } from "../api/bank";
import { ApiError } from "../api/client";
import { Field, FormMessage, SubmitButton, useSubmit } from "../components/forms";
import { Heading } from "../components/Heading";
import { Link } from "../components/Link";
import type { Session } from "../session";

export function SignUp({
  onSignedIn,
  onCreated,
}: {
  onSignedIn: (session: Session) => void;
  /** The account exists but signing in failed: the sign-in screen, with `message`. */
  onCreated: (message: string) => void;
}) {
  const [user, setUser] = useState({ username: "", email: "", full_name: "", password: "" });
  const { errors, error, pending, form, submit } = useSubmit();
  const set = (name: keyof typeof user) => (event: { target: { value: string } }) =>
    setUser({ ...user, [name]: event.target.value });

  const onSubmit = submit(async () => {
    const fullName = user.full_name.trim();
    await signUp({
      username: user.username.trim(),
      email: user.email.trim(),
      password: user.password,
      ...(fullName ? { full_name: fullName } : {}),
    });
    try {
      const token = await signIn(user.username.trim(), user.password);
      onSignedIn({ token: token.access_token, user: await me(token.access_token) });
    } catch (error) {
      // Signing up again would only say the name is taken.
      const why = error instanceof ApiError ? ` (${error.message})` : "";
      onCreated(`Your account was created, but signing you in failed${why}. Sign in to continue.`);
    }
  });

  return (
    <main id="content" className="narrow">
      <Heading>Create your account</Heading>
      <form ref={form} onSubmit={onSubmit} noValidate aria-label="Create your account">
        <Field
          label="Username"
          name="username"
          autoComplete="username"
          hint="3 to 50 letters, digits, '_', '.' or '-'"
          value={user.username}
          error={errors.username}
          onChange={set("username")}
        />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          value={user.email}
          error={errors.email}
          onChange={set("email")}
        />
        <Field
          label="Full name (optional)"
          name="full_name"
          autoComplete="name"
          value={user.full_name}
          error={errors.full_name}
          onChange={set("full_name")}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          hint="8 to 128 characters"
          value={user.password}
          error={errors.password}
          onChange={set("password")}
        />
        <FormMessage error={error} />
        <SubmitButton pending={pending} busy="Creating your account…">
          Create account
        </SubmitButton>
      </form>
      <p>
        Already have an account? <Link to="sign-in">Sign in</Link>
      </p>
    </main>
  );
}
