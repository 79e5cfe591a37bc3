// The page frame: who is logged in, the sites they may see, navigation, and the page of the current route.
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { ApiError, api, hasCsrf, type Me, rememberCsrf, type SiteView, whenSessionLost } from './api.ts';
import { live, useLiveState } from './live.ts';
import { AttendancePage } from './pages/attendance.tsx';
import { AuditPage } from './pages/audit.tsx';
import { DevicesPage } from './pages/devices.tsx';
import { LoginPage } from './pages/login.tsx';
import { NewPersonPage, PeoplePage } from './pages/people.tsx';
import { PersonPage } from './pages/person.tsx';
import { TodayPage } from './pages/today.tsx';
import { UsersPage } from './pages/users.tsx';
import { useRoute } from './route.ts';
import { ErrorNotice, Loading } from './ui.tsx';

export interface Session {
  me: Me;
  sites: SiteView[];
  site: (id: string) => SiteView | undefined;
  /** Admins and managers change people and consents; viewers only read. */
  canEditPeople: boolean;
  isAdmin: boolean;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a logged-in page');
  return session;
}

const pages = [
  { path: 'today', label: 'Today' },
  { path: 'attendance', label: 'Attendance' },
  { path: 'people', label: 'People' },
  { path: 'devices', label: 'Devices' },
  { path: 'audit', label: 'Audit log', adminOnly: true },
  { path: 'users', label: 'Users', adminOnly: true },
] as const;

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [sites, setSites] = useState<SiteView[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [ended, setEnded] = useState(false);

  useEffect(() => {
    whenSessionLost(() => {
      setEnded(true);
      setMe(null);
    });
    // Without the CSRF token of this browser's login nothing could be changed: log in again.
    if (!hasCsrf()) {
      setMe(null);
      return;
    }
    api.get<Me>('/auth/me').then(setMe, (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) setMe(null);
      else setError(e);
    });
  }, []);

  useEffect(() => {
    if (!me) {
      live.close();
      setSites(undefined);
      return;
    }
    live.open();
    api.get<{ sites: SiteView[] }>('/sites').then((r) => setSites(r.sites), setError);
  }, [me]);

  if (error) {
    return (
      <main id="main" class="narrow">
        <ErrorNotice error={error} onRetry={() => location.reload()} />
      </main>
    );
  }
  if (me === undefined) return <Loading label="Starting" />;
  if (me === null) {
    return (
      <LoginPage
        ended={ended}
        onLogin={(user) => {
          rememberCsrf(user.csrfToken);
          setEnded(false);
          setMe(user);
        }}
      />
    );
  }
  const logout = async () => {
    await api.post('/auth/logout').catch(() => undefined);
    rememberCsrf(undefined);
    setMe(null);
  };
  const session: Session | undefined = sites && {
    me,
    sites,
    site: (id) => sites.find((s) => s.id === id),
    canEditPeople: me.role !== 'viewer',
    isAdmin: me.role === 'admin',
  };
  return (
    <Frame me={me} onLogout={logout}>
      {session ? (
        <SessionContext.Provider value={session}>
          <Routes />
        </SessionContext.Provider>
      ) : (
        <Loading lines={6} />
      )}
    </Frame>
  );
}

function Frame(props: { me: Me; onLogout: () => void; children: ComponentChildren }) {
  const route = useRoute();
  const state = useLiveState();
  const current = route.parts[0] ?? 'today';
  return (
    <>
      {/* A button, not a link to #main: the hash holds the route. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href="#/today">
          TruePresence
        </a>
        <nav aria-label="Pages">
          <ul>
            {pages
              .filter((p) => !('adminOnly' in p) || props.me.role === 'admin')
              .map((p) => (
                <li key={p.path}>
                  <a href={`#/${p.path}`} aria-current={current === p.path ? 'page' : undefined}>
                    {p.label}
                  </a>
                </li>
              ))}
          </ul>
        </nav>
        <div class="user">
          <span class={`live-dot ${state}`} title={state === 'live' ? 'Live updates on' : 'Reconnecting'}>
            <span class="visually-hidden">
              {state === 'live' ? 'Live updates on' : 'Live updates reconnecting'}
            </span>
          </span>
          <span class="who">
            {props.me.username} <span class="role">({props.me.role})</span>
          </span>
          <button type="button" class="link" onClick={props.onLogout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}

function Routes() {
  const route = useRoute();
  const session = useSession();
  const [page, id] = route.parts;
  switch (page) {
    case undefined:
    case 'today':
      return <TodayPage />;
    case 'attendance':
      return <AttendancePage query={route.query} />;
    case 'people':
      if (id === 'new') return <NewPersonPage />;
      return id ? <PersonPage id={id} /> : <PeoplePage query={route.query} />;
    case 'devices':
      return <DevicesPage query={route.query} />;
    case 'audit':
      if (session.isAdmin) return <AuditPage query={route.query} />;
      break;
    case 'users':
      if (session.isAdmin) return <UsersPage />;
      break;
  }
  return (
    <div class="narrow">
      <h1>Page not found</h1>
      <p>
        There is no page here. Go to <a href="#/today">Today</a>.
      </p>
    </div>
  );
}
