// Today: who is in now on each site (first in, last event, door), counts, and the decisions of the cameras
// as they arrive over the live channel, without reloading the page.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  type AttendanceDayView,
  allPeople,
  api,
  type EventView,
  type PersonView,
  type SiteView,
} from '../api.ts';
import { useSession } from '../app.tsx';
import { live } from '../live.ts';
import { link } from '../route.ts';
import { clock, dayStart, localDate } from '../time.ts';
import { Badge, Empty, ErrorNotice, Loading, Page, Section, Table, useLoad } from '../ui.tsx';

interface SiteToday {
  site: SiteView;
  date: string;
  days: AttendanceDayView[];
  counts: { attendance: number; unknown: number; spoof: number };
}

const feedSize = 40;

function isIn(day: AttendanceDayView): boolean {
  return day.lastOutAt === null || day.lastOutAt < day.lastSeenAt;
}

function mergeFeed(current: readonly EventView[], incoming: readonly EventView[]): EventView[] {
  const byId = new Map(current.map((e) => [e.eventId, e]));
  for (const e of incoming) byId.set(e.eventId, e);
  return [...byId.values()].sort((a, b) => b.capturedAt - a.capturedAt).slice(0, feedSize);
}

export function TodayPage() {
  const { sites } = useSession();
  const [round, setRound] = useState(0);
  const [peopleRound, setPeopleRound] = useState(0);
  const [feed, setFeed] = useState<EventView[]>([]);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const people = useLoad(
    async () => new Map((await allPeople({ includeErased: true })).map((p) => [p.id, p] as const)),
    [peopleRound],
  );
  const today = useLoad(
    async (signal) =>
      Promise.all(
        sites.map(async (site): Promise<SiteToday & { recent: EventView[] }> => {
          const date = localDate(Date.now(), site.timeZone);
          const [attendance, counts, recent] = await Promise.all([
            api.get<{ days: AttendanceDayView[] }>(
              '/attendance',
              { siteId: site.id, from: date, to: date },
              signal,
            ),
            api.get<SiteToday['counts']>(
              '/events/counts',
              { siteId: site.id, from: dayStart(date, site.timeZone) },
              signal,
            ),
            api.get<{ events: EventView[] }>('/events', { siteId: site.id, limit: feedSize }, signal),
          ]);
          return { site, date, days: attendance.days, counts, recent: recent.events };
        }),
      ),
    [sites, round],
  );

  useEffect(() => {
    const recent = today.data?.flatMap((s) => s.recent);
    if (recent) setFeed((current) => mergeFeed(current, recent));
  }, [today.data]);

  const peopleMap = people.data;
  useEffect(() => {
    const reloadSoon = () => {
      clearTimeout(reloadTimer.current);
      reloadTimer.current = setTimeout(() => setRound((r) => r + 1), 300);
    };
    const unsubscribe = live.subscribe((events) => {
      setFeed((current) => mergeFeed(current, events));
      setFresh(new Set(events.map((e) => e.eventId)));
      if (peopleMap && events.some((e) => e.personId !== null && !peopleMap.has(e.personId))) {
        setPeopleRound((r) => r + 1);
      }
      reloadSoon();
    }, reloadSoon);
    return () => {
      unsubscribe();
      clearTimeout(reloadTimer.current);
    };
  }, [peopleMap]);

  // Once a minute: a new day at a site's midnight, and events that another hub replica ingested (the live
  // channel carries those of the replica this page is connected to).
  useEffect(() => {
    const timer = setInterval(() => setRound((r) => r + 1), 60_000);
    return () => clearInterval(timer);
  }, []);

  const siteName = useMemo(() => new Map(sites.map((s) => [s.id, s])), [sites]);

  if (sites.length === 0) {
    return (
      <Page title="Today">
        <Empty title="No sites yet">
          Create a site and its devices with the provisioning tool (
          <code>truepresence-provision init-site</code>, then <code>add-device</code>); people seen by its
          cameras appear here.
        </Empty>
      </Page>
    );
  }
  return (
    <Page title="Today">
      <ErrorNotice error={today.error ?? people.error} onRetry={() => setRound((r) => r + 1)} />
      <div class="today">
        <div class="today-sites">
          {!today.data || !peopleMap ? (
            <Loading lines={8} label="Loading today's attendance" />
          ) : (
            today.data.map((s) => <SiteSection key={s.site.id} today={s} people={peopleMap} />)
          )}
        </div>
        <Section title="Live feed" id="feed-title">
          <p class="hint">Decisions of the cameras, newest first, as they arrive.</p>
          {feed.length === 0 ? (
            <Empty title="No decisions yet today">
              When a camera sees someone, the decision appears here within a second.
            </Empty>
          ) : (
            <ol class="feed" aria-live="polite" aria-relevant="additions" aria-labelledby="feed-title">
              {feed.map((e) => (
                <FeedItem
                  key={e.eventId}
                  event={e}
                  site={siteName.get(e.siteId)}
                  person={e.personId ? peopleMap?.get(e.personId) : undefined}
                  showSite={sites.length > 1}
                  fresh={fresh.has(e.eventId)}
                />
              ))}
            </ol>
          )}
        </Section>
      </div>
    </Page>
  );
}

function SiteSection(props: { today: SiteToday; people: ReadonlyMap<string, PersonView> }) {
  const { site, days, counts } = props.today;
  const zone = site.timeZone;
  const inNow = days.filter(isIn);
  const rows = [...days].sort((a, b) => Number(isIn(b)) - Number(isIn(a)) || b.lastSeenAt - a.lastSeenAt);
  const name = (id: string) => props.people.get(id)?.displayName ?? id;
  return (
    <Section title={site.name} id={`site-${site.id}`}>
      <p class="hint">
        {props.today.date} · times in {zone}
      </p>
      <dl class="tiles">
        <div>
          <dt>In now</dt>
          <dd data-testid={`in-now-${site.id}`}>{inNow.length}</dd>
        </div>
        <div>
          <dt>Seen today</dt>
          <dd>{days.length}</dd>
        </div>
        <div>
          <dt>Unknown</dt>
          <dd>{counts.unknown}</dd>
        </div>
        <div>
          <dt>Spoof attempts</dt>
          <dd>{counts.spoof}</dd>
        </div>
      </dl>
      {rows.length === 0 ? (
        <Empty title="Nobody seen yet today">
          People appear here when a camera of this site recognises them. Nobody enrolled?{' '}
          <a href="#/people">Add people</a>.
        </Empty>
      ) : (
        <Table
          caption={`People seen today at ${site.name}`}
          rowKey={(d) => d.personId}
          rows={rows}
          columns={[
            {
              label: 'Person',
              render: (d) => <a href={link(['people', d.personId])}>{name(d.personId)}</a>,
            },
            {
              label: 'Status',
              render: (d) =>
                isIn(d) ? (
                  <Badge tone="ok">In</Badge>
                ) : (
                  <Badge tone="muted">Out since {clock(d.lastOutAt!, zone)}</Badge>
                ),
            },
            {
              label: 'First in',
              render: (d) =>
                d.firstInAt === null ? '—' : `${clock(d.firstInAt, zone)} · ${d.firstInCameraId}`,
            },
            { label: 'Last event', render: (d) => `${clock(d.lastSeenAt, zone)} · ${d.lastCameraId}` },
            { label: 'Passes', numeric: true, render: (d) => d.passes },
          ]}
        />
      )}
    </Section>
  );
}

function FeedItem(props: {
  event: EventView;
  site: SiteView | undefined;
  person: PersonView | undefined;
  showSite: boolean;
  fresh: boolean;
}) {
  const e = props.event;
  const zone = props.site?.timeZone ?? 'UTC';
  const who =
    e.kind === 'attendance' ? (
      e.personId ? (
        <a href={link(['people', e.personId])}>{props.person?.displayName ?? e.personId}</a>
      ) : (
        'Recognised person'
      )
    ) : e.kind === 'unknown' ? (
      'Unknown person'
    ) : (
      'Spoof attempt'
    );
  const tone = e.kind === 'attendance' ? 'ok' : e.kind === 'spoof' ? 'bad' : 'muted';
  return (
    <li class={props.fresh ? 'fresh' : undefined}>
      <time dateTime={new Date(e.capturedAt).toISOString()}>{clock(e.capturedAt, zone, true)}</time>
      <Badge tone={tone}>{e.kind}</Badge>
      <span class="feed-who">{who}</span>
      <span class="feed-where">
        {e.cameraId}
        {e.direction ? ` · ${e.direction}` : ''}
        {props.showSite ? ` · ${props.site?.name ?? e.siteId}` : ''}
      </span>
    </li>
  );
}
