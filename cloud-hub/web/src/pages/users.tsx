// Users (admins): accounts with their role and sites, added, changed (role, sites, password) and removed.
// This is also where the first admin replaces the one-time password printed at the hub's first start.
import { useState } from 'preact/hooks';
import { api, type Role, type UserView } from '../api.ts';
import { useSession } from '../app.tsx';
import { dateTime } from '../time.ts';
import {
  Checkboxes,
  ConfirmDialog,
  Empty,
  ErrorNotice,
  Loading,
  Notice,
  Page,
  Section,
  SelectField,
  Table,
  TextField,
  useLoad,
} from '../ui.tsx';

const roleOptions = [
  { value: 'viewer', label: 'Viewer: reads everything of their sites' },
  { value: 'manager', label: 'Manager: attendance and people of their sites' },
  { value: 'admin', label: 'Admin: everything' },
];

interface Draft {
  username: string;
  password: string;
  role: Role;
  sites: string[];
}

const emptyDraft: Draft = { username: '', password: '', role: 'viewer', sites: [] };

function UserForm(props: {
  draft: Draft;
  onChange: (draft: Draft) => void;
  isNew: boolean;
  busy: boolean;
  onSubmit: () => void;
  onCancel?: () => void;
}) {
  const { sites } = useSession();
  const d = props.draft;
  return (
    <form
      class="form"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      {props.isNew && (
        <TextField
          label="User name"
          value={d.username}
          onValue={(username) => props.onChange({ ...d, username })}
          required
          maxLength={100}
          autocomplete="off"
          autocapitalize="none"
          spellcheck={false}
        />
      )}
      <TextField
        label={props.isNew ? 'Password' : 'New password (optional)'}
        type="password"
        hint="At least 12 characters."
        value={d.password}
        onValue={(password) => props.onChange({ ...d, password })}
        required={props.isNew}
        autocomplete="new-password"
      />
      <SelectField
        label="Role"
        value={d.role}
        onValue={(role) => props.onChange({ ...d, role: role as Role })}
        options={roleOptions}
      />
      {d.role !== 'admin' && (
        <Checkboxes
          legend="Sites"
          hint="Leave every site unticked to give access to all sites."
          options={sites.map((s) => ({ value: s.id, label: s.name }))}
          selected={d.sites}
          onChange={(chosen) => props.onChange({ ...d, sites: chosen })}
        />
      )}
      <div class="form-actions">
        {props.onCancel && (
          <button type="button" class="secondary" onClick={props.onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" class="primary" disabled={props.busy}>
          {props.isNew ? 'Add user' : 'Save'}
        </button>
      </div>
    </form>
  );
}

export function UsersPage() {
  const { me, site } = useSession();
  const users = useLoad((signal) => api.get<{ users: UserView[] }>('/users', {}, signal), []);
  const [adding, setAdding] = useState(false);
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const [removing, setRemoving] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);

  const run = async (work: () => Promise<unknown>, message: string) => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      await work();
      setDone(message);
      setAdding(false);
      setEditing(undefined);
      setRemoving(undefined);
      setDraft(emptyDraft);
      users.reload();
    } catch (e) {
      setError(e);
      setRemoving(undefined);
    } finally {
      setBusy(false);
    }
  };
  const scope = (d: Draft) => (d.role === 'admin' || d.sites.length === 0 ? null : d.sites);
  const list = users.data?.users;

  return (
    <Page
      title="Users"
      actions={
        !adding && (
          <button
            type="button"
            class="primary"
            onClick={() => {
              setDraft(emptyDraft);
              setEditing(undefined);
              setAdding(true);
            }}
          >
            Add user
          </button>
        )
      }
    >
      <ErrorNotice error={error ?? users.error} />
      {done && <Notice kind="ok">{done}</Notice>}
      {adding && (
        <Section title="New user" id="new-user-title">
          <UserForm
            draft={draft}
            onChange={setDraft}
            isNew
            busy={busy}
            onCancel={() => setAdding(false)}
            onSubmit={() =>
              void run(
                () =>
                  api.post('/users', {
                    username: draft.username.trim(),
                    password: draft.password,
                    role: draft.role,
                    siteScope: scope(draft),
                  }),
                `User ${draft.username.trim()} added.`,
              )
            }
          />
        </Section>
      )}
      <Section title="Accounts" id="users-title">
        <p class="hint">
          Use Change on your own account to replace the one-time password of the hub's first start.
        </p>
        {!list ? (
          <Loading lines={3} label="Loading users" />
        ) : list.length === 0 ? (
          <Empty title="No users" />
        ) : (
          <Table
            caption="Users"
            rows={list}
            rowKey={(u) => u.username}
            columns={[
              {
                label: 'User',
                render: (u) => (
                  <>
                    <strong>{u.username}</strong>
                    {u.username === me.username && <span class="muted"> (you)</span>}
                  </>
                ),
              },
              { label: 'Role', render: (u) => u.role },
              {
                label: 'Sites',
                render: (u) =>
                  u.siteScope === null
                    ? 'all sites'
                    : u.siteScope.map((id) => site(id)?.name ?? id).join(', '),
              },
              { label: 'Changed', render: (u) => dateTime(u.updatedAt) },
              {
                label: 'Actions',
                render: (u) => (
                  <>
                    <button
                      type="button"
                      class="link"
                      onClick={() => {
                        setAdding(false);
                        setDraft({
                          username: u.username,
                          password: '',
                          role: u.role,
                          sites: u.siteScope ?? [],
                        });
                        setEditing(editing === u.username ? undefined : u.username);
                      }}
                      aria-expanded={editing === u.username}
                    >
                      Change<span class="visually-hidden"> {u.username}</span>
                    </button>
                    {u.username !== me.username && (
                      <button type="button" class="link danger-text" onClick={() => setRemoving(u.username)}>
                        Remove<span class="visually-hidden"> {u.username}</span>
                      </button>
                    )}
                  </>
                ),
              },
            ]}
            after={(u) =>
              editing === u.username && (
                <UserForm
                  draft={draft}
                  onChange={setDraft}
                  isNew={false}
                  busy={busy}
                  onCancel={() => setEditing(undefined)}
                  onSubmit={() =>
                    void run(
                      () =>
                        api.patch(`/users/${encodeURIComponent(u.username)}`, {
                          ...(draft.password ? { password: draft.password } : {}),
                          role: draft.role,
                          siteScope: scope(draft),
                        }),
                      `User ${u.username} changed.`,
                    )
                  }
                />
              )
            }
          />
        )}
      </Section>
      <ConfirmDialog
        open={removing !== undefined}
        title={`Remove ${removing ?? ''}?`}
        confirmLabel="Remove user"
        danger
        busy={busy}
        onConfirm={() =>
          void run(() => api.delete(`/users/${encodeURIComponent(removing!)}`), `User ${removing} removed.`)
        }
        onCancel={() => setRemoving(undefined)}
      >
        <p>Their sessions end at once. The audit log keeps what they did.</p>
      </ConfirmDialog>
    </Page>
  );
}
