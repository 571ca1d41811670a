/**
 * The REST client for the ft-lab server extension (`/ft-lab/api/...`) and the runs model that the
 * sidebar and the status bar share: one poll, faster while a run is active.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

export interface IRunSummary {
  id: string;
  status: string;
  active: boolean;
  task: string;
  model: string;
  method: string;
  created: string;
  headline: { name: string; value: number | null; final: boolean };
  step: number;
  max_steps: number | null;
  progress: number | null;
  elapsed: number | null;
  eta: number | null;
  error: string | null;
  recipe_path: string | null;
  source_path: string | null;
  lineage: string[];
  joint_retrain: boolean;
  serving?: IServing | null;
}

/** `ft-lab serve` started from the sidebar on a completed run (the key itself is never sent). */
export interface IServing {
  state: 'starting' | 'serving' | 'failed' | 'stopped';
  url: string;
  error: string | null;
  key_file: string | null;
  serve_dir: string | null;
}

/** A search (ft-lab search) as one row: its trials' runs are not listed one by one. */
export interface ISearchSummary {
  name: string;
  id: string; // the folder's name under RUNS_DIR/searches
  folder: string;
  budget: number | null;
  finished: number;
  running: number;
  failed: number;
  objective: string | null;
  best_value: number | null;
  best_trial: number | null;
  updated: string | null;
  progress: number | null;
  active: boolean;
  live_trials: { number: number; step: number | null; max_steps: number | null }[];
}

export interface IRunsAnswer {
  runs_dir: string;
  runs: IRunSummary[];
  searches?: ISearchSummary[];
}

export interface IPluginsAnswer {
  plugins: {
    name: string;
    version: string;
    builtin: boolean;
    components: { [kind: string]: string[] };
  }[];
  broken: { name: string; error: string }[];
}

/** Call `/ft-lab/api/<path>`; JSON answers are parsed, errors raise with the server's message. */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  as: 'json' | 'text' = 'json'
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'ft-lab', 'api', path);
  const response = await ServerConnection.makeRequest(url, init, settings);
  const body = await response.text();
  if (!response.ok) {
    let message = body;
    try {
      message = JSON.parse(body).message || body;
    } catch {
      // not JSON: keep the text
    }
    throw new Error(`ft-lab: ${response.status} ${message}`);
  }
  return (as === 'json' ? JSON.parse(body) : body) as T;
}

export function formatSeconds(seconds: number | null): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '–';
  }
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

export function formatMetric(run: IRunSummary): string {
  const { name, value } = run.headline;
  if (!name) {
    return '–';
  }
  return value === null || value === undefined ? `${name} –` : `${name} ${value.toFixed(4)}`;
}

/** The runs list, refreshed every `activeInterval` ms while a run is active, else every `idleInterval`. */
export class RunsModel {
  constructor(
    private activeInterval = 2000,
    private idleInterval = 10000
  ) {}

  get changed(): ISignal<RunsModel, void> {
    return this._changed;
  }

  get runs(): IRunSummary[] {
    return this._runs;
  }

  get searches(): ISearchSummary[] {
    return this._searches;
  }

  get runsDir(): string {
    return this._runsDir;
  }

  get error(): string {
    return this._error;
  }

  /** The most recently created run that is still active, if any. */
  get active(): IRunSummary | null {
    return this._runs.find(r => r.active) ?? null;
  }

  start(): void {
    if (!this._started) {
      this._started = true;
      void this.refresh();
    }
  }

  async refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    try {
      const answer = await requestAPI<IRunsAnswer>('runs');
      this._runs = answer.runs;
      this._searches = answer.searches ?? [];
      this._runsDir = answer.runs_dir;
      this._error = '';
    } catch (err) {
      this._error = String((err as Error).message ?? err);
    }
    this._changed.emit();
    const starting = this._runs.some(r => r.serving?.state === 'starting');
    const busy = this.active || starting || this._searches.some(s => s.active);
    const delay = busy ? this.activeInterval : this.idleInterval;
    this._timer = window.setTimeout(() => void this.refresh(), delay);
  }

  async stop(id: string): Promise<void> {
    await requestAPI(`runs/${encodeURIComponent(id)}/stop`, { method: 'POST' });
    await this.refresh();
  }

  /** Start (`true`) or stop (`false`) `ft-lab serve` on a completed run. */
  async serve(id: string, on: boolean): Promise<void> {
    await requestAPI(`runs/${encodeURIComponent(id)}/serve`, { method: on ? 'POST' : 'DELETE' });
    await this.refresh();
  }

  private _runs: IRunSummary[] = [];
  private _searches: ISearchSummary[] = [];
  private _runsDir = '';
  private _error = '';
  private _started = false;
  private _timer = 0;
  private _changed = new Signal<RunsModel, void>(this);
}
