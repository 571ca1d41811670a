/**
 * The left sidebar "Fine-tuning": Runs (status, progress, elapsed, headline metric, live; report,
 * stop, recipe) and Plugins (versions, components by kind, broken plugins with their errors).
 * Serve / Stop serving on a completed run starts `ft-lab serve` in the Jupyter server (its URL and
 * where its key is are shown, never the key). Plain DOM, every value set through textContent (run ids and plugin errors are never parsed as HTML).
 */
import { Widget } from '@lumino/widgets';

import {
  formatMetric,
  formatSeconds,
  IPluginsAnswer,
  IRunSummary,
  ISearchSummary,
  requestAPI,
  RunsModel
} from './api';

export interface ISidebarActions {
  openReport(run: IRunSummary): void;
  openFile(path: string): void;
  openRecipe(run: IRunSummary): void;
  openSearchReport(search: ISearchSummary): void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

function button(label: string, className: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', `jp-Button jp-mod-styled jp-mod-reject ft-lab-button ${className}`, label);
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

export class FineTuningSidebar extends Widget {
  constructor(
    private model: RunsModel,
    private actions: ISidebarActions
  ) {
    super();
    this.id = 'ft-lab-sidebar';
    this.addClass('ft-lab-sidebar');
    this.title.caption = 'Fine-tuning';

    const runsHeader = el('div', 'ft-lab-section-header');
    runsHeader.append(
      el('h2', '', 'Runs'),
      button('Refresh', 'ft-lab-refresh-runs', 'read the runs folder again', () => void this.model.refresh())
    );
    this.runsDirNode = el('div', 'ft-lab-runs-dir');
    this.runsNode = el('div', 'ft-lab-runs');
    const pluginsHeader = el('div', 'ft-lab-section-header');
    pluginsHeader.append(
      el('h2', '', 'Plugins'),
      button('Refresh', 'ft-lab-refresh-plugins', 'discover the installed plugins again', () =>
        void this.refreshPlugins()
      )
    );
    this.pluginsNode = el('div', 'ft-lab-plugins');
    this.node.append(runsHeader, this.runsDirNode, this.runsNode, pluginsHeader, this.pluginsNode);

    model.changed.connect(this.renderRuns, this);
    this.renderRuns();
    void this.refreshPlugins();
  }

  renderRuns(): void {
    this.runsDirNode.textContent = this.model.runsDir ? `folder: ${this.model.runsDir}` : '';
    this.runsNode.replaceChildren();
    if (this.model.error) {
      this.runsNode.append(el('div', 'ft-lab-error', this.model.error));
    }
    for (const search of this.model.searches) {
      this.runsNode.append(this.searchCard(search));
    }
    if (!this.model.runs.length && !this.model.searches.length) {
      this.runsNode.append(el('div', 'ft-lab-empty', 'No runs yet. Start one from the launcher card "Fine-tune a model".'));
    }
    for (const run of this.model.runs) {
      this.runsNode.append(this.runCard(run));
    }
  }

  private runCard(run: IRunSummary): HTMLElement {
    const card = el('div', `ft-lab-run ft-lab-status-${run.status}`);
    card.dataset.runId = run.id;
    const head = el('div', 'ft-lab-run-head');
    head.append(el('span', 'ft-lab-run-id', run.id), el('span', 'ft-lab-run-status', run.status));
    card.append(head, el('div', 'ft-lab-run-what', `${run.task} · ${run.model} · ${run.method}`));
    if (run.lineage && run.lineage.length > 1) {
      // model.from_run: the chain this run continues, oldest first (docs/continual.md)
      const how = run.joint_retrain ? ' (joint retraining)' : '';
      card.append(el('div', 'ft-lab-run-lineage', `lineage: ${run.lineage.join(' -> ')}${how}`));
    }

    const progress = el('div', 'ft-lab-run-progress');
    const bar = el('progress');
    bar.max = 1;
    if (run.progress !== null || !run.active) {
      bar.value = run.progress ?? 0; // no value: the bar moves to and fro (a run starting up)
    }
    const steps = run.max_steps ? `step ${run.step}/${run.max_steps}` : '';
    const eta = run.active && run.eta !== null ? ` · ETA ${formatSeconds(run.eta)}` : '';
    progress.append(
      bar,
      el('span', 'ft-lab-run-steps', steps),
      el('span', 'ft-lab-run-elapsed', `${formatSeconds(run.elapsed)}${eta}`)
    );
    card.append(progress);

    const metric = el('div', 'ft-lab-run-metric', formatMetric(run));
    metric.title = run.headline.final ? 'fine-tuned, on the test split' : 'latest validation value';
    card.append(metric);
    if (run.error) {
      card.append(el('div', 'ft-lab-error ft-lab-run-error', run.error));
    }

    const actions = el('div', 'ft-lab-run-actions');
    actions.append(button('Report', 'ft-lab-open-report', 'open the run report in a tab', () => this.actions.openReport(run)));
    if (run.active) {
      actions.append(
        button('Stop', 'ft-lab-stop', 'save a checkpoint and stop after the current step', () =>
          void this.model.stop(run.id).catch(err => window.alert(String(err.message ?? err)))
        )
      );
    }
    actions.append(button('Recipe', 'ft-lab-open-recipe', 'open the recipe of this run', () => this.actions.openRecipe(run)));
    if (run.source_path) {
      const source = run.source_path;
      actions.append(button('Notebook', 'ft-lab-open-source', `open ${source}`, () => this.actions.openFile(source)));
    }
    card.append(actions);
    if (run.status === 'completed') {
      card.append(this.servingRow(run));
    }
    return card;
  }

  /** A search as one row: trials finished of the budget, the running trials' steps, the best value. */
  private searchCard(search: ISearchSummary): HTMLElement {
    const card = el('div', `ft-lab-run ft-lab-search${search.active ? ' ft-lab-status-running' : ''}`);
    card.dataset.search = search.name;
    const head = el('div', 'ft-lab-run-head');
    head.append(
      el('span', 'ft-lab-run-id', `search:${search.name}`),
      el('span', 'ft-lab-run-status', search.active ? 'running' : 'search')
    );
    card.append(head);
    const progress = el('div', 'ft-lab-run-progress');
    const bar = el('progress');
    bar.max = 1;
    bar.value = search.progress ?? 0;
    const live = search.live_trials
      .map(t => (t.max_steps ? `trial ${t.number}: step ${t.step ?? 0}/${t.max_steps}` : `trial ${t.number}`))
      .join(', ');
    progress.append(
      bar,
      el('span', 'ft-lab-search-trials', `${search.finished}/${search.budget ?? '?'} trials`),
      el('span', 'ft-lab-run-elapsed', live)
    );
    card.append(progress);
    const best =
      search.best_value !== null
        ? `best ${search.objective ?? ''} ${search.best_value.toFixed(4)} (trial ${search.best_trial})`
        : 'no completed trial yet';
    card.append(el('div', 'ft-lab-run-metric ft-lab-search-best', best));
    const actions = el('div', 'ft-lab-run-actions');
    actions.append(
      button('Report', 'ft-lab-open-search-report', 'open the search page (leaderboard, plots) in a tab', () =>
        this.actions.openSearchReport(search)
      )
    );
    card.append(actions);
    return card;
  }

  private servingRow(run: IRunSummary): HTMLElement {
    const row = el('div', 'ft-lab-serving');
    const serving = run.serving;
    const alive = serving && (serving.state === 'starting' || serving.state === 'serving');
    const fail = (err: any) => window.alert(String(err.message ?? err));
    if (serving && serving.state === 'serving') {
      row.append(el('div', 'ft-lab-serving-url', `serving at ${serving.url}`));
      if (serving.key_file) {
        row.append(el('div', 'ft-lab-serving-key', `key: first line of ${serving.key_file}`));
      }
    } else if (serving && serving.state === 'starting') {
      row.append(el('div', 'ft-lab-serving-state', 'starting the server (loading the model) ...'));
    } else if (serving && serving.error) {
      row.append(el('div', 'ft-lab-error ft-lab-serving-error', serving.error));
    }
    row.append(
      alive
        ? button('Stop serving', 'ft-lab-serve-stop', 'stop ft-lab serve (the request log stays)', () =>
            void this.model.serve(run.id, false).catch(fail)
          )
        : button('Serve', 'ft-lab-serve', 'serve this run behind an OpenAI-compatible API on this machine', () =>
            void this.model.serve(run.id, true).catch(fail)
          )
    );
    return row;
  }

  async refreshPlugins(): Promise<IPluginsAnswer | null> {
    let answer: IPluginsAnswer;
    try {
      answer = await requestAPI<IPluginsAnswer>('plugins');
    } catch (err) {
      this.pluginsNode.replaceChildren(el('div', 'ft-lab-error', String((err as Error).message ?? err)));
      return null;
    }
    const nodes: HTMLElement[] = [];
    for (const p of answer.plugins) {
      const item = el('div', `ft-lab-plugin${p.builtin ? ' ft-lab-plugin-builtin' : ''}`);
      item.dataset.plugin = p.name;
      const head = el('div', 'ft-lab-plugin-head');
      head.append(el('span', 'ft-lab-plugin-name', p.name), el('span', 'ft-lab-plugin-version', p.version));
      if (p.builtin) {
        head.append(el('span', 'ft-lab-badge', 'built-in'));
      }
      item.append(head);
      for (const [kind, names] of Object.entries(p.components)) {
        if (names.length) {
          const row = el('div', 'ft-lab-plugin-kind');
          row.append(el('span', 'ft-lab-kind', `${kind}: `), el('span', 'ft-lab-components', names.join(', ')));
          item.append(row);
        }
      }
      nodes.push(item);
    }
    for (const b of answer.broken) {
      const item = el('div', 'ft-lab-plugin ft-lab-plugin-broken');
      item.dataset.plugin = b.name;
      const head = el('div', 'ft-lab-plugin-head');
      head.append(el('span', 'ft-lab-plugin-name', b.name), el('span', 'ft-lab-badge ft-lab-badge-broken', 'broken'));
      item.append(head, el('div', 'ft-lab-error ft-lab-plugin-error', b.error));
      nodes.push(item);
    }
    this.pluginsNode.replaceChildren(...nodes);
    return answer;
  }

  private runsDirNode: HTMLElement;
  private runsNode: HTMLElement;
  private pluginsNode: HTMLElement;
}
