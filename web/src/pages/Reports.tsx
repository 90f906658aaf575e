// Relatórios: how long patients wait and are served, how many miss or cancel, how busy each
// doctor is, and when patients arrive — over a range of days, for one doctor or procedure or
// all. Every figure comes from GET /api/reports/...; each plot has its table and a CSV download.

import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { ChartConfiguration } from 'chart.js';
import type { ArrivalRow, AttendanceRow, Doctor, DoctorReportRow, Procedure, WaitRow } from '../api/types';
import { describeError } from '../api/errors';
import { ChartCanvas } from '../components/ChartCanvas';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';
import { loadAll } from '../live/lists';
import { usePageTitle } from '../lib/hooks';

interface Filters {
  from: string;
  to: string;
  doctorId: string;
  procedureId: string;
}

interface Data {
  waits: WaitRow[];
  attendance: AttendanceRow[];
  doctors: DoctorReportRow[];
  arrivals: ArrivalRow[];
}

const COLORS = {
  wait: '#2563eb',
  waitP90: '#93c5fd',
  service: '#059669',
  serviceP90: '#6ee7b7',
  noShow: '#dc2626',
  cancel: '#f59e0b',
  finished: '#059669',
  other: '#94a3b8',
};

/** `day` minus `days`, as YYYY-MM-DD (calendar arithmetic in UTC). */
function shift(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

function query(filters: Filters): string {
  const params = new URLSearchParams({ from: filters.from, to: filters.to });
  if (filters.doctorId) params.set('doctorId', filters.doctorId);
  if (filters.procedureId) params.set('procedureId', filters.procedureId);
  return params.toString();
}

/** Seconds as minutes with one decimal ("12,5"), or "—". */
function minutes(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  return (seconds / 60).toLocaleString('pt-BR', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
}

function toMinutes(seconds: number | null): number | null {
  return seconds === null ? null : Math.round((seconds / 60) * 10) / 10;
}

function percent(rate: number): string {
  return `${(rate * 100).toLocaleString('pt-BR', { maximumFractionDigits: 1 })}%`;
}

/** "2026-03-02" → "02/03". */
function shortDay(day: string): string {
  return `${day.slice(8, 10)}/${day.slice(5, 7)}`;
}

export function Reports() {
  usePageTitle('Relatórios');
  const { api, account } = useStaff();
  const toast = useToast();
  const [filters, setFilters] = useState<Filters>(() => ({
    from: shift(account.today, -29),
    to: account.today,
    doctorId: '',
    procedureId: '',
  }));
  const [draft, setDraft] = useState<Filters>(filters);
  const [doctors, setDoctors] = useState<Doctor[]>([]);
  const [procedures, setProcedures] = useState<Procedure[]>([]);
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void (async () => {
      try {
        const [d, p] = await Promise.all([
          loadAll<Doctor>(api, '/api/doctors'),
          loadAll<Procedure>(api, '/api/procedures'),
        ]);
        setDoctors(d.items);
        setProcedures(p.items);
      } catch (err) {
        toast.show(describeError(err), 'error');
      }
    })();
  }, [api, toast]);

  useEffect(() => {
    let cancelled = false;
    const q = query(filters);
    setData(null);
    setError(null);
    void (async () => {
      try {
        const [waits, attendance, doctorRows, arrivals] = await Promise.all([
          api.get<WaitRow[]>(`/api/reports/waits?${q}`),
          api.get<AttendanceRow[]>(`/api/reports/attendance?${q}`),
          api.get<DoctorReportRow[]>(`/api/reports/doctors?${q}`),
          api.get<ArrivalRow[]>(`/api/reports/arrivals?${q}`),
        ]);
        if (!cancelled)
          setData({ waits: waits.data, attendance: attendance.data, doctors: doctorRows.data, arrivals: arrivals.data });
      } catch (err) {
        if (!cancelled) setError(describeError(err));
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [api, filters]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    if (!draft.from || !draft.to || draft.from > draft.to) {
      toast.show('Escolha um período válido: o início antes do fim.', 'error');
      return;
    }
    setFilters(draft);
  };

  const preset = (days: number) => {
    const next = { ...draft, from: shift(account.today, -(days - 1)), to: account.today };
    setDraft(next);
    setFilters(next);
  };

  const download = async (name: string) => {
    try {
      const text = await api.text(`/api/reports/${name}?${query(filters)}`);
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `${name}-${filters.from}-${filters.to}.csv`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      toast.show(describeError(err), 'error');
    }
  };

  return (
    <section className="reports" data-testid="reports" data-loaded={data !== null}>
      <div className="page-head">
        <div>
          <h1>Relatórios</h1>
          <p className="muted">
            Espera do check-in à chamada, tempo de atendimento, faltas e cancelamentos, atendimentos por médico e
            chegadas por dia da semana e hora.
          </p>
        </div>
      </div>

      <form className="card toolbar report-filters" onSubmit={apply} data-testid="report-filters">
        <label className="field">
          <span>De</span>
          <input type="date" name="from" value={draft.from} max={account.today} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </label>
        <label className="field">
          <span>Até</span>
          <input type="date" name="to" value={draft.to} max={account.today} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <label className="field">
          <span>Médico</span>
          <select className="select" name="doctorId" value={draft.doctorId} onChange={(e) => setDraft({ ...draft, doctorId: e.target.value })}>
            <option value="">Todos</option>
            {doctors.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Procedimento</span>
          <select
            className="select"
            name="procedureId"
            value={draft.procedureId}
            onChange={(e) => setDraft({ ...draft, procedureId: e.target.value })}
          >
            <option value="">Todos</option>
            {procedures.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" type="submit" data-testid="apply-filters">
          Aplicar
        </button>
        <span className="chips">
          {[7, 30, 90, 365].map((days) => (
            <button type="button" key={days} className="chip" onClick={() => preset(days)}>
              {days === 365 ? '1 ano' : `${days} dias`}
            </button>
          ))}
        </span>
      </form>

      {error && (
        <div className="card">
          <p className="form-error">{error}</p>
        </div>
      )}
      {!data && !error && <p className="empty">Carregando…</p>}
      {data && (
        <>
          <WaitsReport rows={data.waits} onCsv={() => void download('waits')} />
          <AttendanceReport rows={data.attendance} onCsv={() => void download('attendance')} />
          <DoctorsReport rows={data.doctors} onCsv={() => void download('doctors')} />
          <ArrivalsReport rows={data.arrivals} onCsv={() => void download('arrivals')} />
        </>
      )}
    </section>
  );
}

function ReportCard({
  name,
  title,
  hint,
  onCsv,
  children,
}: {
  name: string;
  title: string;
  hint: string;
  onCsv: () => void;
  children: React.ReactNode;
}) {
  return (
    <div className="card report" data-testid={`report-${name}`}>
      <div className="report-head">
        <div>
          <h2 className="card-title">{title}</h2>
          <p className="muted small">{hint}</p>
        </div>
        <button className="btn btn-small btn-neutral" onClick={onCsv} data-testid={`csv-${name}`}>
          Baixar CSV
        </button>
      </div>
      {children}
    </div>
  );
}

function Empty() {
  return <p className="empty">Nenhum dado no período.</p>;
}

function WaitsReport({ rows, onCsv }: { rows: WaitRow[]; onCsv: () => void }) {
  const config = useMemo<ChartConfiguration<'line'>>(
    () => ({
      type: 'line',
      data: {
        labels: rows.map((r) => shortDay(r.day)),
        datasets: [
          { label: 'Espera (mediana)', data: rows.map((r) => toMinutes(r.waitMedianSeconds)), borderColor: COLORS.wait, backgroundColor: COLORS.wait },
          { label: 'Espera (90%)', data: rows.map((r) => toMinutes(r.waitP90Seconds)), borderColor: COLORS.waitP90, backgroundColor: COLORS.waitP90, borderDash: [6, 4] },
          { label: 'Atendimento (mediana)', data: rows.map((r) => toMinutes(r.serviceMedianSeconds)), borderColor: COLORS.service, backgroundColor: COLORS.service },
          { label: 'Atendimento (90%)', data: rows.map((r) => toMinutes(r.serviceP90Seconds)), borderColor: COLORS.serviceP90, backgroundColor: COLORS.serviceP90, borderDash: [6, 4] },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        spanGaps: true,
        elements: { point: { radius: rows.length > 60 ? 0 : 2 } },
        scales: { y: { beginAtZero: true, title: { display: true, text: 'minutos' } } },
        plugins: { legend: { position: 'bottom' } },
      },
    }),
    [rows],
  );
  return (
    <ReportCard
      name="waits"
      title="Tempo de espera e de atendimento"
      hint="Por dia, em minutos: mediana e 90º percentil (9 em cada 10 pacientes esperaram até este tempo)."
      onCsv={onCsv}
    >
      {rows.length === 0 ? (
        <Empty />
      ) : (
        <>
          <ChartCanvas config={config} label="Espera e atendimento por dia" testId="chart-waits" />
          <div className="table-scroll">
            <table className="data-table" data-testid="table-waits">
              <thead>
                <tr>
                  <th>Dia</th>
                  <th>Chamados</th>
                  <th>Espera mediana</th>
                  <th>Espera 90%</th>
                  <th>Atendidos</th>
                  <th>Atendimento mediano</th>
                  <th>Atendimento 90%</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.day}>
                    <td>{shortDay(r.day)}</td>
                    <td>{r.waitCount}</td>
                    <td>{minutes(r.waitMedianSeconds)}</td>
                    <td>{minutes(r.waitP90Seconds)}</td>
                    <td>{r.serviceCount}</td>
                    <td>{minutes(r.serviceMedianSeconds)}</td>
                    <td>{minutes(r.serviceP90Seconds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </ReportCard>
  );
}

function AttendanceReport({ rows, onCsv }: { rows: AttendanceRow[]; onCsv: () => void }) {
  const config = useMemo<ChartConfiguration<'line'>>(
    () => ({
      type: 'line',
      data: {
        labels: rows.map((r) => shortDay(r.day)),
        datasets: [
          { label: 'Faltas', data: rows.map((r) => Math.round(r.noShowRate * 1000) / 10), borderColor: COLORS.noShow, backgroundColor: COLORS.noShow },
          {
            label: 'Cancelamentos',
            data: rows.map((r) => Math.round(r.cancellationRate * 1000) / 10),
            borderColor: COLORS.cancel,
            backgroundColor: COLORS.cancel,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        elements: { point: { radius: rows.length > 60 ? 0 : 2 } },
        scales: { y: { beginAtZero: true, title: { display: true, text: '% dos agendamentos' } } },
        plugins: { legend: { position: 'bottom' } },
      },
    }),
    [rows],
  );
  const total = rows.reduce((sum, r) => sum + r.appointments, 0);
  const noShows = rows.reduce((sum, r) => sum + r.noShows, 0);
  const cancellations = rows.reduce((sum, r) => sum + r.cancellations, 0);
  return (
    <ReportCard
      name="attendance"
      title="Faltas e cancelamentos"
      hint={
        total > 0
          ? `No período: ${total} agendamentos, ${percent(noShows / total)} de faltas, ${percent(cancellations / total)} de cancelamentos.`
          : 'Taxa de faltas e de cancelamentos por dia.'
      }
      onCsv={onCsv}
    >
      {rows.length === 0 ? (
        <Empty />
      ) : (
        <>
          <ChartCanvas config={config} label="Faltas e cancelamentos por dia" testId="chart-attendance" />
          <div className="table-scroll">
            <table className="data-table" data-testid="table-attendance">
              <thead>
                <tr>
                  <th>Dia</th>
                  <th>Agendamentos</th>
                  <th>Finalizados</th>
                  <th>Faltas</th>
                  <th>Cancelamentos</th>
                  <th>% faltas</th>
                  <th>% cancelamentos</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.day}>
                    <td>{shortDay(r.day)}</td>
                    <td>{r.appointments}</td>
                    <td>{r.finished}</td>
                    <td>{r.noShows}</td>
                    <td>{r.cancellations}</td>
                    <td>{percent(r.noShowRate)}</td>
                    <td>{percent(r.cancellationRate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </ReportCard>
  );
}

function DoctorsReport({ rows, onCsv }: { rows: DoctorReportRow[]; onCsv: () => void }) {
  const config = useMemo<ChartConfiguration<'bar'>>(() => {
    const others = rows.map((r) => Math.max(0, r.appointments - r.finished - r.noShows - r.cancellations));
    return {
      type: 'bar',
      data: {
        labels: rows.map((r) => r.doctorName ?? 'Sem médico'),
        datasets: [
          { label: 'Finalizados', data: rows.map((r) => r.finished), backgroundColor: COLORS.finished },
          { label: 'Faltas', data: rows.map((r) => r.noShows), backgroundColor: COLORS.noShow },
          { label: 'Cancelamentos', data: rows.map((r) => r.cancellations), backgroundColor: COLORS.cancel },
          { label: 'Outros', data: others, backgroundColor: COLORS.other },
        ],
      },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } },
        plugins: { legend: { position: 'bottom' } },
      },
    };
  }, [rows]);
  return (
    <ReportCard name="doctors" title="Atendimentos por médico" hint="Agendamentos do período e como terminaram." onCsv={onCsv}>
      {rows.length === 0 ? (
        <Empty />
      ) : (
        <>
          <ChartCanvas
            config={config}
            label="Agendamentos por médico"
            testId="chart-doctors"
            height={Math.max(160, 48 * rows.length + 60)}
          />
          <div className="table-scroll">
            <table className="data-table" data-testid="table-doctors">
              <thead>
                <tr>
                  <th>Médico</th>
                  <th>Agendamentos</th>
                  <th>Finalizados</th>
                  <th>Faltas</th>
                  <th>Cancelamentos</th>
                  <th>Espera mediana</th>
                  <th>Atendimento mediano</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.doctorId ?? 0}>
                    <td>{r.doctorName ?? 'Sem médico'}</td>
                    <td>{r.appointments}</td>
                    <td>{r.finished}</td>
                    <td>{r.noShows}</td>
                    <td>{r.cancellations}</td>
                    <td>{minutes(r.waitMedianSeconds)}</td>
                    <td>{minutes(r.serviceMedianSeconds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </ReportCard>
  );
}

const WEEKDAYS = ['Seg', 'Ter', 'Qua', 'Qui', 'Sex', 'Sáb', 'Dom'];

function ArrivalsReport({ rows, onCsv }: { rows: ArrivalRow[]; onCsv: () => void }) {
  const { busy, first, last, hours, max } = useMemo(() => {
    const busy = rows.filter((r) => r.arrivals > 0);
    const first = busy.length ? Math.min(...busy.map((r) => r.hour)) : 7;
    const last = busy.length ? Math.max(...busy.map((r) => r.hour)) : 18;
    const hours = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    const max = Math.max(1, ...rows.map((r) => r.arrivals));
    return { busy, first, last, hours, max };
  }, [rows]);
  const cell = (weekday: number, hour: number) => rows.find((r) => r.weekday === weekday && r.hour === hour)?.arrivals ?? 0;

  const config = useMemo<ChartConfiguration<'matrix'>>(
    () => ({
      type: 'matrix',
      data: {
        datasets: [
          {
            label: 'Chegadas',
            data: rows
              .filter((r) => r.hour >= first && r.hour <= last)
              .map((r) => ({ x: `${r.hour}h`, y: WEEKDAYS[r.weekday - 1], v: r.arrivals })),
            backgroundColor: (ctx) => {
              const v = (ctx.raw as { v?: number } | undefined)?.v ?? 0;
              const alpha = v === 0 ? 0.04 : 0.15 + 0.85 * (v / max);
              return `rgba(37, 99, 235, ${alpha.toFixed(3)})`;
            },
            borderColor: 'rgba(255,255,255,1)',
            borderWidth: 1,
            width: ({ chart }) => (chart.chartArea?.width ?? 0) / hours.length - 2,
            height: ({ chart }) => (chart.chartArea?.height ?? 0) / 7 - 2,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: () => '',
              label: (ctx) => {
                const raw = ctx.raw as { x: string; y: string; v: number };
                return `${raw.y} ${raw.x}: ${raw.v} chegadas`;
              },
            },
          },
        },
        scales: {
          x: { type: 'category', labels: hours.map((h) => `${h}h`), offset: true, grid: { display: false } },
          y: { type: 'category', labels: WEEKDAYS, offset: true, grid: { display: false } },
        },
      },
    }),
    [rows, first, last, max, hours],
  );

  return (
    <ReportCard
      name="arrivals"
      title="Chegadas por dia da semana e hora"
      hint="Check-ins no período; quanto mais escuro, mais pacientes chegando."
      onCsv={onCsv}
    >
      {busy.length === 0 ? (
        <Empty />
      ) : (
        <>
          <ChartCanvas config={config} label="Mapa de calor das chegadas" testId="chart-arrivals" height={300} />
          <div className="table-scroll">
            <table className="data-table heat-table" data-testid="table-arrivals">
              <thead>
                <tr>
                  <th>Dia</th>
                  {hours.map((h) => (
                    <th key={h}>{h}h</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {WEEKDAYS.map((name, i) => (
                  <tr key={name}>
                    <td>{name}</td>
                    {hours.map((h) => (
                      <td key={h}>{cell(i + 1, h)}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </ReportCard>
  );
}
