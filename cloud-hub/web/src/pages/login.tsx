// Log in with a user name and password. The hub rate-limits failures and answers with coded errors.
import { useState } from 'preact/hooks';
import { api, type Me } from '../api.ts';
import { ErrorNotice, Notice, TextField } from '../ui.tsx';

export function LoginPage(props: { ended: boolean; onLogin: (me: Me) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onLogin(await api.post<Me>('/auth/login', { username: username.trim(), password }));
    } catch (e) {
      setError(e);
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <form class="card" onSubmit={submit} aria-describedby="login-help">
        <h1>TruePresence</h1>
        <p class="muted">Attendance hub · log in to continue</p>
        {props.ended && !error && <Notice kind="info">Your session ended. Log in again to continue.</Notice>}
        <ErrorNotice error={error} />
        <TextField
          label="User name"
          value={username}
          onValue={setUsername}
          autocomplete="username"
          autocapitalize="none"
          spellcheck={false}
          required
        />
        <TextField
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          autocomplete="current-password"
          required
        />
        <button type="submit" class="primary wide" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <p class="hint" id="login-help">
          First start: the hub printed a one-time password for the user “admin” on its console.
        </p>
      </form>
    </main>
  );
}
