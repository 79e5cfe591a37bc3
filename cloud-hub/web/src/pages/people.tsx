// People: search and list; add a person together with the consent or legal-basis record that must exist
// before any photo of them is enrolled.
import { useState } from 'preact/hooks';
import { api, type ConsentView, type LegalBasis, type PersonView } from '../api.ts';
import { useSession } from '../app.tsx';
import { legalBasisText } from '../messages.ts';
import { link, navigate } from '../route.ts';
import { dateTime } from '../time.ts';
import {
  Checkboxes,
  Empty,
  ErrorNotice,
  Loading,
  Page,
  Section,
  SelectField,
  Table,
  TextArea,
  TextField,
  useDebounced,
  useLoad,
} from '../ui.tsx';

const pageSize = 100;

export function PeoplePage(props: { query: URLSearchParams }) {
  const { sites, canEditPeople } = useSession();
  const [search, setSearch] = useState(props.query.get('q') ?? '');
  const [site, setSite] = useState(props.query.get('site') ?? '');
  const [erased, setErased] = useState(false);
  const [limit, setLimit] = useState(pageSize);
  const q = useDebounced(search.trim(), 300);
  const people = useLoad(
    (signal) =>
      api.get<{ people: PersonView[] }>(
        '/people',
        { search: q, siteId: site || undefined, includeErased: erased, limit },
        signal,
      ),
    [q, site, erased, limit],
  );
  const siteName = (id: string) => sites.find((s) => s.id === id)?.name ?? id;
  const list = people.data?.people;
  const filtered = q !== '' || site !== '';

  return (
    <Page
      title="People"
      actions={
        canEditPeople && (
          <a class="button primary" href="#/people/new">
            Add person
          </a>
        )
      }
    >
      <form class="filters card" aria-label="Find people" onSubmit={(e) => e.preventDefault()}>
        <TextField
          label="Search"
          type="search"
          value={search}
          onValue={(v) => {
            setSearch(v);
            setLimit(pageSize);
          }}
          placeholder="Name or external id"
        />
        <SelectField
          label="Site"
          value={site}
          onValue={setSite}
          options={[{ value: '', label: 'All sites' }, ...sites.map((s) => ({ value: s.id, label: s.name }))]}
        />
        <label class="check inline">
          <input type="checkbox" checked={erased} onChange={(e) => setErased(e.currentTarget.checked)} />
          Include erased people
        </label>
      </form>
      <ErrorNotice error={people.error} onRetry={people.reload} />
      <Section
        title={list ? `${list.length}${list.length === limit ? '+' : ''} people` : 'People'}
        id="people-title"
      >
        {!list ? (
          <Loading lines={6} label="Loading people" />
        ) : list.length === 0 ? (
          filtered ? (
            <Empty title="Nobody matches">Check the spelling, or clear the search and the site filter.</Empty>
          ) : (
            <Empty title="No people yet">
              {canEditPeople
                ? 'Add a person with their consent or legal basis, then upload a photo so that the cameras recognise them.'
                : 'An admin or manager adds people; they will be listed here.'}
            </Empty>
          )
        ) : (
          <>
            <Table
              caption="People"
              rows={list}
              rowKey={(p) => p.id}
              columns={[
                {
                  label: 'Name',
                  render: (p) => (
                    <>
                      <a href={link(['people', p.id])}>{p.displayName}</a>
                      {p.erasedAt !== null && <span class="badge muted">erased</span>}
                    </>
                  ),
                },
                { label: 'External id', render: (p) => p.externalId ?? '—' },
                { label: 'Groups', render: (p) => p.groups.join(', ') || '—' },
                { label: 'Sites', render: (p) => p.siteIds.map(siteName).join(', ') || '—' },
                { label: 'Added', render: (p) => dateTime(p.createdAt) },
              ]}
            />
            {list.length === limit && (
              <button type="button" class="secondary more" onClick={() => setLimit(limit + pageSize)}>
                Show more
              </button>
            )}
          </>
        )}
      </Section>
    </Page>
  );
}

export const legalBasisOptions = Object.entries(legalBasisText).map(([value, label]) => ({ value, label }));

export function splitList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

export function NewPersonPage() {
  const { sites, canEditPeople, me } = useSession();
  const [name, setName] = useState('');
  const [externalId, setExternalId] = useState('');
  const [groups, setGroups] = useState('');
  const [siteIds, setSiteIds] = useState<string[]>(sites.length === 1 ? [sites[0]!.id] : []);
  const [basis, setBasis] = useState<LegalBasis>('consent');
  const [notice, setNotice] = useState('');
  const [noticeText, setNoticeText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  if (!canEditPeople) {
    return (
      <Page title="Add person">
        <Empty title="Your account may not add people">Ask an admin or a manager of your site.</Empty>
      </Page>
    );
  }
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.post<{ person: PersonView; consent: ConsentView | null }>('/people', {
        displayName: name,
        externalId: externalId.trim() || null,
        groups: splitList(groups),
        siteIds,
        consent: { legalBasis: basis, noticeVersion: notice.trim(), noticeText: noticeText.trim() || null },
      });
      navigate(link(['people', created.person.id], { added: '1' }));
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Page title="Add person">
      <form class="card form" onSubmit={submit}>
        <ErrorNotice error={error} />
        <TextField label="Name" value={name} onValue={setName} required maxLength={200} autocomplete="off" />
        <TextField
          label="External id"
          hint="HR number or badge number; optional, unique."
          value={externalId}
          onValue={setExternalId}
          maxLength={100}
          autocomplete="off"
        />
        <TextField
          label="Groups"
          hint="Comma separated, e.g. Warehouse, Night shift."
          value={groups}
          onValue={setGroups}
          autocomplete="off"
        />
        <Checkboxes
          legend="Sites"
          hint={
            me.siteScope
              ? 'The cameras of these sites will recognise the person. Choose at least one of your sites.'
              : 'The cameras of these sites will recognise the person.'
          }
          options={sites.map((s) => ({ value: s.id, label: s.name }))}
          selected={siteIds}
          onChange={setSiteIds}
        />
        <fieldset class="field group">
          <legend>Consent or legal basis</legend>
          <p class="hint">
            Required before any photo can be enrolled. Record what the person was told and on what basis their
            face template is processed.
          </p>
          <SelectField
            label="Legal basis"
            value={basis}
            onValue={(v) => setBasis(v as LegalBasis)}
            options={legalBasisOptions}
          />
          <TextField
            label="Privacy notice version"
            hint="The version or reference of the notice the person was shown, e.g. notice-2026-01."
            value={notice}
            onValue={setNotice}
            required
            maxLength={100}
          />
          <TextArea label="Notice text (optional)" value={noticeText} onValue={setNoticeText} />
        </fieldset>
        <div class="form-actions">
          <a class="button secondary" href="#/people">
            Cancel
          </a>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add person'}
          </button>
        </div>
      </form>
    </Page>
  );
}
