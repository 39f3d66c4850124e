// kwsgen studio: the page. Every change goes to the server at once; the server writes the project's
// files (the same ones the CLI reads) and refuses edits made on a stale copy (HTTP 409).
import WaveSurfer from '/vendor/wavesurfer.esm.js'
import RegionsPlugin from '/vendor/plugins/regions.esm.js'
import TimelinePlugin from '/vendor/plugins/timeline.esm.js'
import ZoomPlugin from '/vendor/plugins/zoom.esm.js'
import SpectrogramPlugin from '/vendor/plugins/spectrogram.esm.js'

const PAGE_SIZE = 200
const SPECTROGRAM_MAX_SECONDS = 120 // longer recordings show the waveform only, so they open at once
const COLOURS = ['#4dabf7', '#69db7c', '#ffa94d', '#e599f7', '#ffd43b', '#38d9a9', '#ff8787', '#a9e34b', '#9775fa']
const token = new URLSearchParams(location.search).get('token') || ''
const $ = (id) => document.getElementById(id)

const state = {
  project: null,
  session: null,
  table: null, // {columns, rows}
  sort: { column: 'file', descending: false },
  page: 0,
  selected: new Set(),
  rec: null, // the open recording: {file, frames, version, segments, undo, redo, selected}
  ws: null,
  regions: null,
}

// ---- talking to the server ------------------------------------------------------------------

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { 'X-Kwsgen-Token': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }))
  if (!response.ok) {
    const error = new Error(data.error || `HTTP ${response.status}`)
    error.status = response.status
    throw error
  }
  return data
}

function say(text, isError = false) {
  const box = $('message')
  box.textContent = text
  box.className = isError ? 'error' : ''
  box.hidden = !text
}

async function attempt(work) {
  try {
    say('')
    return await work()
  } catch (error) {
    say(error.message, true)
    return undefined
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else if (value !== undefined && value !== null) node.setAttribute(key, value)
  }
  for (const child of children) node.append(child)
  return node
}

function fillSelect(select, values, chosen, keepFirst = false) {
  const first = keepFirst ? [...select.options].slice(0, 1) : []
  select.replaceChildren(...first, ...values.map((v) => el('option', { value: v }, v)))
  if (chosen !== undefined) select.value = chosen
}

const seconds = (samples) => samples / state.project.sample_rate
const samples = (secs) => Math.round(secs * state.project.sample_rate)
// Training skips segments shorter than [segments] min_length, which is at least the model's input.
const isShort = (s) => s.end - s.start < Math.max(state.project.min_length, state.project.model_input_samples)
const colour = (label) => {
  const i = state.project.labels.indexOf(label)
  return (i < 0 ? '#adb5bd' : COLOURS[i % COLOURS.length]) + '66'
}

// ---- sessions ------------------------------------------------------------------------------

async function loadProject() {
  state.project = await api('GET', '/api/project')
  $('project-name').textContent = `kwsgen studio · ${state.project.name}`
  state.session = state.session || state.project.training_session
  if (!state.project.sessions.includes(state.session)) state.session = state.project.training_session
  fillSelect($('session'), state.project.sessions, state.session)
  fillSelect($('compare-session'), state.project.sessions, $('compare-session').value, true)
  fillSelect($('new-label'), state.project.labels, $('new-label').value || state.project.labels[0])
  fillSelect($('run-truth'), state.project.sessions, state.project.training_session)
}

async function sessionAction(kind) {
  const name = prompt(kind === 'rename' ? `Rename "${state.session}" to` : 'Name of the new session')
  if (!name) return
  await attempt(async () => {
    if (kind === 'rename') await api('POST', '/api/sessions/rename', { old: state.session, new: name })
    else await api('POST', '/api/sessions', { name, copy_from: kind === 'copy' ? state.session : null })
    state.session = name
    await loadProject()
    await route()
    say(`session "${name}" ready`)
  })
}

// ---- the recordings table --------------------------------------------------------------------

async function loadRecordings() {
  state.table = await api('GET', `/api/recordings?session=${encodeURIComponent(state.session)}`)
  const { columns, sets } = state.table
  fillSelect($('filter-set'), sets, $('filter-set').value, true)
  fillSelect($('filter-label'), state.project.labels, $('filter-label').value, true)
  fillSelect($('bulk-set'), [...sets, '(none)'], '', true)
  fillSelect($('import-label'), state.project.labels, $('import-label').value, true)
  fillSelect($('import-set'), sets, $('import-set').value, true)
  fillSelect($('split-column'), columns.filter((c) => c !== 'file' && c !== 'Set'), $('split-column').value || 'speaker')
  renderRecordings()
}

function visibleRows() {
  const search = $('search').value.trim().toLowerCase()
  const set = $('filter-set').value
  const label = $('filter-label').value
  const { column, descending } = state.sort
  const rows = state.table.rows.filter(
    (r) =>
      (!set || r.Set === set) &&
      (!label || r.labels[label]) &&
      (!search || state.table.columns.some((c) => String(r[c] ?? '').toLowerCase().includes(search))),
  )
  rows.sort((a, b) => {
    const x = a[column] ?? ''
    const y = b[column] ?? ''
    const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))
    return descending ? -order : order
  })
  return rows
}

function renderRecordings() {
  const columns = ['file', 'seconds', 'segments', 'labels', ...state.table.columns.filter((c) => c !== 'file')]
  const head = el('tr', {}, el('th', {}, el('input', { type: 'checkbox', id: 'select-all', onchange: selectAll })))
  for (const c of columns) {
    const arrow = state.sort.column === c ? (state.sort.descending ? ' ▼' : ' ▲') : ''
    head.append(el('th', { onclick: () => sortBy(c) }, c + arrow))
  }
  $('recordings').tHead.replaceChildren(head)
  const rows = visibleRows()
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE))
  state.page = Math.min(state.page, pages - 1)
  const shown = rows.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE)
  $('recordings').tBodies[0].replaceChildren(...shown.map((r) => recordingRow(r, columns)))
  $('page-info').textContent = `${rows.length} of ${state.table.rows.length} recordings · page ${state.page + 1} of ${pages}`
  $('selected-count').textContent = `${state.selected.size} selected`
}

function recordingRow(r, columns) {
  const tr = el('tr', { 'data-file': r.file })
  const box = el('input', { type: 'checkbox' })
  box.checked = state.selected.has(r.file)
  box.addEventListener('change', () => {
    box.checked ? state.selected.add(r.file) : state.selected.delete(r.file)
    $('selected-count').textContent = `${state.selected.size} selected`
  })
  tr.append(el('td', {}, box))
  for (const c of columns) {
    if (c === 'file') tr.append(el('td', {}, el('a', { href: `#/rec/${encodeURIComponent(r.file)}` }, r.file)))
    else if (c === 'seconds') tr.append(el('td', { class: 'num' }, r.seconds.toFixed(2)))
    else if (c === 'segments') tr.append(el('td', { class: 'num' }, String(r.segments)))
    else if (c === 'labels') tr.append(el('td', {}, Object.entries(r.labels).map(([k, v]) => `${k} ${v}`).join(', ')))
    else if (c === 'Set') tr.append(el('td', {}, setSelect(r)))
    else tr.append(el('td', {}, cellEditor(r, c)))
  }
  return tr
}

function setSelect(r) {
  const select = el('select', { 'data-column': 'Set', 'aria-label': `Set of ${r.file}` })
  fillSelect(select, ['', ...state.table.sets], r.Set || '')
  select.addEventListener('change', () => editMetadata({ [r.file]: { Set: select.value } }))
  return select
}

function cellEditor(r, column) {
  const input = el('input', { class: 'cell', value: r[column] ?? '', 'data-column': column })
  input.addEventListener('change', () => editMetadata({ [r.file]: { [column]: input.value } }))
  return input
}

async function editMetadata(edits) {
  const base = {}
  const byFile = Object.fromEntries(state.table.rows.map((r) => [r.file, r]))
  for (const [file, row] of Object.entries(edits)) {
    base[file] = Object.fromEntries(Object.keys(row).map((c) => [c, byFile[file]?.[c] ?? '']))
  }
  const done = await attempt(() => api('PATCH', '/api/metadata', { edits, base }))
  if (done) say(`saved ${done.changed} metadata value${done.changed === 1 ? '' : 's'} to metadata.csv`)
  await loadRecordings() // a refused edit shows the file as it is now
}

function sortBy(column) {
  state.sort = { column, descending: state.sort.column === column ? !state.sort.descending : false }
  renderRecordings()
}

function selectAll(event) {
  for (const r of visibleRows()) event.target.checked ? state.selected.add(r.file) : state.selected.delete(r.file)
  renderRecordings()
}

async function bulkSet() {
  const value = $('bulk-set').value
  if (!value || !state.selected.size) return
  const set = value === '(none)' ? '' : value
  await editMetadata(Object.fromEntries([...state.selected].map((f) => [f, { Set: set }])))
  state.selected.clear()
  renderRecordings()
}

async function split(apply) {
  const body = {
    column: $('split-column').value,
    validate: Number($('split-validate').value),
    test: Number($('split-test').value),
    apply,
  }
  const result = await attempt(() => api('POST', '/api/split', body))
  if (!result) return
  const parts = Object.entries(result.counts).map(([s, c]) => `${s}: ${c.values} ${body.column}, ${c.recordings} recordings`)
  $('split-result').textContent = parts.join(' · ') + (apply ? ` · ${result.changed} changed Set` : ' (preview)')
  if (apply) await loadRecordings()
}

async function importFiles(files) {
  if (!files.length) return
  const form = new FormData()
  for (const file of files) form.append('files', file, file.name)
  form.append('label', $('import-label').value)
  form.append('set', $('import-set').value)
  form.append('into', $('import-into').value)
  form.append('meta', $('import-meta').value)
  form.append('session', state.session)
  form.append('resample', String($('import-resample').checked))
  form.append('mono', String($('import-mono').checked))
  say(`importing ${files.length} file${files.length === 1 ? '' : 's'}…`)
  const response = await fetch('/api/import', { method: 'POST', headers: { 'X-Kwsgen-Token': token }, body: form })
  const result = await response.json().catch(() => ({ error: `HTTP ${response.status}` }))
  if (!response.ok) { say(result.error, true); return }
  const segments = Object.values(result.segments_added).reduce((a, b) => a + b, 0)
  say(`imported: ${result.copied} copied, ${result.converted} converted, ${result.already_present} already in the ` +
    `project; ${segments} segments added` + (result.short.length ? `; ${result.short.length} shorter than min_length` : ''))
  await loadRecordings()
}

async function autolabel(files) {
  const result = await attempt(() => api('POST', '/api/autolabel', { session: state.session, files }))
  if (result) say(`auto-labelling added ${result.added} segments to ${result.labelled} recordings` +
    (result.skipped.length ? `; skipped: ${result.skipped.slice(0, 3).join('; ')}` : ''))
  return result
}

// ---- summary --------------------------------------------------------------------------------

async function showSummary() {
  const summary = await api('GET', `/api/summary?session=${encodeURIComponent(state.session)}`)
  const sets = ['Train', 'Validate', 'Test']
  const rows = [el('tr', {}, ...['label', ...sets, 'total'].map((h) => el('th', {}, h)))]
  for (const label of summary.labels) {
    const counts = summary.segments[label]
    const total = sets.reduce((sum, s) => sum + counts[s], 0)
    rows.push(el('tr', {}, el('td', {}, label), ...sets.map((s) => el('td', { class: 'num' }, String(counts[s]))),
      el('td', { class: 'num' }, String(total))))
  }
  $('summary-table').replaceChildren(...rows)
  const link = (f) => el('a', { href: `#/rec/${encodeURIComponent(f)}` }, `[${f}] `)
  const items = summary.issues.map((issue) => {
    const item = el('li', { class: issue.level }, `${issue.level}: ${issue.message} `, ...issue.files.slice(0, 10).map(link))
    if (issue.files.length > 10) {
      const more = el('details', {}, el('summary', {}, `all ${issue.files.length} recordings`), ...issue.files.map(link))
      item.append(more)
    }
    return item
  })
  $('issues').replaceChildren(...(items.length ? items : [el('li', {}, 'no problems found')]))
}

// ---- one recording --------------------------------------------------------------------------

async function openRecording(file) {
  const data = await api('GET', `/api/segments?session=${encodeURIComponent(state.session)}&file=${encodeURIComponent(file)}`)
  const same = state.rec && state.rec.file === file
  const history = same && state.rec.session === data.session // undo belongs to one recording in one session
  state.rec = { ...data, undo: history ? state.rec.undo : [], redo: history ? state.rec.redo : [], selected: null }
  $('rec-name').textContent = file
  $('rec-info').textContent = `${(data.frames / state.project.sample_rate).toFixed(2)} s · session "${state.session}"`
  if (!same || !state.ws) await createWaveform(file, data.frames)
  else drawRegions()
  renderSegmentList()
}

// A short recording is decoded in the page (for the spectrogram); a long one is drawn from the server's peaks
// and streamed for playback, so it shows at once.
async function createWaveform(file, frames) {
  if (state.ws) state.ws.destroy()
  state.ws = null
  document.body.dataset.ready = ''
  const long = seconds(frames) > SPECTROGRAM_MAX_SECONDS
  const plugins = [TimelinePlugin.create(), ZoomPlugin.create({ scale: 0.25, maxZoom: 2000 })]
  if (!long) {
    plugins.push(SpectrogramPlugin.create({ container: '#spectrogram', labels: true, height: 160, fftSamples: 512 }))
  }
  $('spectrogram').replaceChildren(long ? el('p', { class: 'hint' }, 'No spectrogram for recordings over ' +
    `${SPECTROGRAM_MAX_SECONDS} s: zoom into the waveform, or cut the take into shorter recordings.`) : '')
  const outline = long ? await api('GET', `/api/peaks?file=${encodeURIComponent(file)}&per_second=100`) : null
  if (state.rec?.file !== file) return // another recording was opened meanwhile
  state.regions = RegionsPlugin.create()
  plugins.push(state.regions)
  state.ws = WaveSurfer.create({
    container: '#waveform',
    height: 140,
    waveColor: '#868e96',
    progressColor: '#495057',
    minPxPerSec: Number($('zoom').value),
    url: `/api/audio?file=${encodeURIComponent(file)}`,
    ...(outline ? { peaks: [outline.peaks], duration: outline.duration } : {}),
    plugins,
  })
  state.ws.on('ready', () => {
    drawRegions()
    document.body.dataset.ready = file
  })
  state.ws.on('error', (error) => say(`cannot play ${file}: ${error}`, true))
  state.ws.on('zoom', (pxPerSec) => { $('zoom').value = String(Math.round(pxPerSec)) }) // the wheel zooms too
  state.regions.on('region-updated', (region) => moveSegment(region))
  state.regions.on('region-clicked', (region, event) => {
    event.stopPropagation()
    if (region.id.startsWith('seg-')) selectSegment(Number(region.id.slice(4)))
  })
}

// With a comparison session, the waveform has two lanes: the editable session above, the other one below.
function drawRegions() {
  if (!state.regions || !state.ws.getDuration()) return
  state.regions.clearRegions()
  const compare = state.compare || []
  const lane = (region, top, height) => {
    if (!region.element) return
    region.element.style.top = top
    region.element.style.height = height
  }
  state.rec.segments.forEach((s, i) => {
    const short = isShort(s)
    const region = state.regions.addRegion({
      id: `seg-${i}`,
      start: seconds(s.start),
      end: seconds(s.end),
      color: i === state.rec.selected ? '#3b5bdb55' : colour(s.label),
      content: `${i + 1} ${s.label}${short ? ' (short)' : ''}`,
    })
    if (compare.length || state.compareName) lane(region, '0', '64%')
  })
  compare.forEach((s, i) => {
    const region = state.regions.addRegion({
      id: `cmp-${i}`,
      start: seconds(s.start),
      end: seconds(s.end),
      color: colour(s.label),
      drag: false,
      resize: false,
      content: `${state.compareName}: ${s.label}`,
    })
    lane(region, '66%', '34%')
    if (region.element) region.element.style.borderTop = '2px dashed #495057'
  })
}

async function loadCompare() {
  const name = $('compare-session').value
  state.compare = []
  state.compareName = name
  if (name && state.rec) {
    const data = await attempt(() => api('GET', `/api/segments?session=${encodeURIComponent(name)}&file=${encodeURIComponent(state.rec.file)}`))
    state.compare = data ? data.segments : []
  }
  drawRegions()
}

function renderSegmentList() {
  const rows = state.rec.segments.map((s, i) => {
    const short = isShort(s)
    const label = el('select', { 'data-index': i, 'aria-label': `label of segment ${i + 1}` })
    fillSelect(label, state.project.labels.includes(s.label) ? state.project.labels : [s.label, ...state.project.labels], s.label)
    label.addEventListener('change', () => relabel(i, label.value))
    const classes = [short ? 'short' : '', i === state.rec.selected ? 'selected' : ''].join(' ')
    const tr = el('tr', { class: classes, onclick: () => selectSegment(i) },
      el('td', {}, String(i + 1)), el('td', {}, label),
      el('td', { class: 'num' }, String(s.start)), el('td', { class: 'num' }, String(s.end)),
      el('td', { class: 'num' }, `${s.end - s.start}${short ? ' (too short: training skips it)' : ''}`),
      el('td', {}, el('button', { onclick: (e) => { e.stopPropagation(); removeSegment(i) } }, 'Delete'),
        el('button', { onclick: (e) => { e.stopPropagation(); playSegment(i) } }, 'Play')))
    return tr
  })
  $('segments').tBodies[0].replaceChildren(...rows)
  $('undo').disabled = !state.rec.undo.length
  $('redo').disabled = !state.rec.redo.length
}

function selectSegment(i) {
  state.rec.selected = i
  drawRegions()
  renderSegmentList()
}

// Every edit: the whole list of this recording's segments, saved against the version it was based on.
async function saveSegments(next, history = 'edit') {
  document.body.dataset.saving = '1' // until the lists are redrawn (tests wait for it)
  try {
    await saveAndRedraw(next, history)
  } finally {
    document.body.dataset.saving = ''
  }
}

async function saveAndRedraw(next, history) {
  const before = state.rec.segments
  const sorted = [...next].sort((a, b) => a.start - b.start || a.end - b.end)
  try {
    const result = await api('PUT', '/api/segments', {
      session: state.session, file: state.rec.file, version: state.rec.version, segments: sorted,
    })
    state.rec.version = result.version
    state.rec.segments = sorted
    if (history === 'edit') { state.rec.undo.push(before); state.rec.redo = [] }
    if (history === 'undo') state.rec.redo.push(before)
    if (history === 'redo') state.rec.undo.push(before)
    say(`saved to sessions/${state.session}.csv`)
  } catch (error) {
    say(error.message, true)
    if (error.status === 409) {
      state.rec.undo = []
      state.rec.redo = []
      await openRecording(state.rec.file)
      return
    }
  }
  drawRegions()
  renderSegmentList()
}

function addSegmentAt(secs) {
  const length = state.project.segment_length
  const centre = samples(secs)
  const start = Math.max(0, Math.min(centre - Math.floor(length / 2), state.rec.frames - length))
  const end = Math.min(state.rec.frames, start + length)
  const label = $('new-label').value
  state.rec.selected = state.rec.segments.filter((s) => s.start < start).length
  saveSegments([...state.rec.segments, { start, end, label }])
}

function moveSegment(region) {
  if (!region.id.startsWith('seg-')) return
  const i = Number(region.id.slice(4))
  const next = state.rec.segments.map((s, j) => (j === i ? { ...s, start: samples(region.start), end: Math.min(state.rec.frames, samples(region.end)) } : s))
  state.rec.selected = i
  saveSegments(next)
}

function relabel(i, label) {
  saveSegments(state.rec.segments.map((s, j) => (j === i ? { ...s, label } : s)))
}

function removeSegment(i) {
  state.rec.selected = null
  saveSegments(state.rec.segments.filter((_, j) => j !== i))
}

function undo() {
  if (state.rec?.undo.length) saveSegments(state.rec.undo.pop(), 'undo')
}

function redo() {
  if (state.rec?.redo.length) saveSegments(state.rec.redo.pop(), 'redo')
}

function playSegment(i) {
  const s = state.rec.segments[i ?? state.rec.selected]
  if (s) state.ws.play(seconds(s.start), seconds(s.end))
}

function playView() {
  if (!state.ws || !state.ws.getDuration()) return
  const duration = state.ws.getDuration()
  const total = state.ws.getWrapper().scrollWidth || state.ws.getWidth()
  const start = (state.ws.getScroll() / total) * duration
  state.ws.play(start, Math.min(duration, start + (state.ws.getWidth() / total) * duration))
}

function onWaveformContextMenu(event) {
  event.preventDefault()
  if (!state.ws || !state.ws.getDuration()) return
  const box = state.ws.getWrapper().getBoundingClientRect()
  const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width))
  addSegmentAt(fraction * state.ws.getDuration())
}

function onKey(event) {
  if (!state.rec || location.hash.split('/')[1] !== 'rec') return
  if (['INPUT', 'SELECT', 'TEXTAREA'].includes(event.target.tagName)) return
  const key = event.key
  if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === 'z') { event.preventDefault(); event.shiftKey ? redo() : undo() }
  else if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === 'y') { event.preventDefault(); redo() }
  else if (key === ' ') { event.preventDefault(); state.ws.playPause() }
  else if (key === 'p') playSegment()
  else if (state.rec.selected === null || state.rec.selected === undefined) return
  else if (/^[1-9]$/.test(key) && state.project.labels[Number(key) - 1]) relabel(state.rec.selected, state.project.labels[Number(key) - 1])
  else if (key === 'Delete' || key === 'Backspace') removeSegment(state.rec.selected)
}

// ---- models ---------------------------------------------------------------------------------

async function showModels() {
  const { models } = await api('GET', '/api/models')
  const head = el('tr', {}, ...['model', 'Test accuracy (int8)', 'Validate accuracy (int8)', 'training time', 'report'].map((h) => el('th', {}, h)))
  const pct = (v) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '–')
  const rows = models.map((m) => el('tr', {}, el('td', {}, m.name),
    el('td', { class: 'num' }, pct(m.summary?.Test?.int8_accuracy)),
    el('td', { class: 'num' }, pct(m.summary?.Validate?.int8_accuracy)),
    el('td', { class: 'num' }, m.seconds ? `${Math.round(m.seconds)} s` : '–'),
    el('td', {}, m.report ? el('a', { href: `/api/models/${encodeURIComponent(m.name)}/report`, target: '_blank' }, 'report') : '–')))
  $('models').replaceChildren(head, ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 5 }, 'no trained model yet: kwsgen train'))]))
  fillSelect($('run-model'), models.map((m) => m.name), $('run-model').value || models[0]?.name)
  fillSelect($('run-set'), ['Train', 'Validate', 'Test'], $('run-set').value, true)
}

async function runModel() {
  $('run-status').textContent = 'running…'
  $('run-start').disabled = true
  const result = await attempt(() => api('POST', '/api/run', {
    model: $('run-model').value, truth: $('run-truth').value, set: $('run-set').value || null,
  }))
  $('run-start').disabled = false
  $('run-status').textContent = ''
  if (!result) return
  await loadProject()
  $('run-summary').textContent = `${result.hits} of ${result.events} keywords detected (miss rate ` +
    `${(100 * result.miss_rate).toFixed(1)}%), ${result.false_alarms} false alarms ` +
    `(${result.false_alarms_per_hour} per hour); predictions in session "${result.predictions}"`
  const head = el('tr', {}, ...['recording', 'keywords', 'hits', 'misses', 'false alarms'].map((h) => el('th', {}, h)))
  const rows = Object.entries(result.files).map(([file, c]) => el('tr', { class: c.misses || c.false_alarms ? 'short' : '' },
    el('td', {}, el('a', { href: `#/rec/${encodeURIComponent(file)}`, onclick: () => { state.compareNext = result.predictions } }, file)),
    ...['events', 'hits', 'misses', 'false_alarms'].map((k) => el('td', { class: 'num' }, String(c[k])))))
  $('run-files').replaceChildren(head, ...rows)
}

// ---- live ----------------------------------------------------------------------------------

const LIVE_WINDOW_S = 20
const live = { next: 0, events: [], timer: null, hops: null }

async function liveConnect(listen = false) {
  const baud = $('live-baud').value ? Number($('live-baud').value) : null
  const path = listen ? '/api/live/listen' : '/api/live/connect'
  const result = await attempt(() => api('POST', path, { port: $('live-port').value.trim(), baud }))
  if (!result) return
  live.next = 0
  live.events = []
  live.hops = listen ? { next: 0, first: 0, peaks: [], columns: [], rate: state.project.sample_rate } : null
  if (!live.timer) live.timer = setInterval(livePoll, 300)
  const unnamed = listen ? !result.model : !result.labels
  $('live-status').textContent = `connecting to ${result.port}` + (unnamed ? ' (no trained model: no classifications)' : '')
}

async function liveDisconnect() {
  clearInterval(live.timer)
  live.timer = null
  await attempt(() => api('POST', '/api/live/disconnect'))
  $('live-status').textContent = 'disconnected'
}

async function livePoll() {
  if (location.hash !== '#/live') return
  let data
  try {
    data = await api('GET', `/api/live/events?since=${live.next}&since_hop=${live.hops ? live.hops.next : 0}`)
  } catch (error) {
    say(error.message, true)
    return
  }
  live.next = data.next
  if (live.hops && data.hops) {
    const h = data.hops
    const keep = Math.ceil((LIVE_WINDOW_S * data.sample_rate) / h.hop_samples)
    live.hops.peaks.push(...h.peaks)
    live.hops.columns.push(...h.columns)
    live.hops.next = h.next
    const drop = Math.max(0, live.hops.peaks.length - keep)
    live.hops.peaks.splice(0, drop)
    live.hops.columns.splice(0, drop)
    live.hops.first = h.next - live.hops.peaks.length
    Object.assign(live.hops, { hopSamples: h.hop_samples, firstSample: h.first_sample, rate: data.sample_rate })
  }
  live.events.push(...data.events)
  live.events = live.events.slice(-2000)
  const count = live.events.filter((e) => e.kind === 'classification').length
  $('live-status').textContent = data.port ? `${data.port}: ${data.status} · ${count} classifications` : data.status
  drawLive()
}

// The canvas, top to bottom: the waveform and the spectrogram (when listening), then the classifications.
function drawLive() {
  const canvas = $('live-timeline')
  const g = canvas.getContext('2d')
  const classes = live.events.filter((e) => e.kind === 'classification' && e.device_time !== null)
  const h = live.hops
  const audioEnd = h && h.peaks.length ? (h.firstSample + (h.first + h.peaks.length) * h.hopSamples) / h.rate : 0
  const lastClass = classes.length ? classes[classes.length - 1].device_time : 0
  const end = Math.max(LIVE_WINDOW_S, audioEnd, lastClass)
  const x = (t) => ((t - (end - LIVE_WINDOW_S)) / LIVE_WINDOW_S) * canvas.width
  g.fillStyle = '#fff'
  g.fillRect(0, 0, canvas.width, canvas.height)
  if (h && h.peaks.length) drawAudio(g, h, x)
  g.fillStyle = '#868e96'
  g.font = '11px system-ui'
  for (let t = Math.ceil(end - LIVE_WINDOW_S); t <= end; t += 1) {
    g.fillRect(x(t), canvas.height - 12, 1, 4)
    if (t % 5 === 0) g.fillText(`${t} s`, x(t) + 2, canvas.height - 1)
  }
  for (const e of classes) {
    if (e.device_time < end - LIVE_WINDOW_S) continue
    if (e.classification === 0 || e.label === 'Unknown') {
      g.fillStyle = '#adb5bd'
      g.fillRect(x(e.device_time), 220, 2, 14)
    } else {
      g.fillStyle = colour(e.label).slice(0, 7)
      g.fillRect(x(e.device_time) - 2, 0, 4, 234)
      g.fillStyle = '#1d1d28'
      g.font = 'bold 13px system-ui'
      g.fillText(`${e.label}${e.score !== null ? ` ${e.score.toFixed(2)}` : ''}`, x(e.device_time) + 4, 226)
    }
  }
  const recent = live.events.filter((e) => e.kind !== 'status').slice(-30).reverse()
  const head = el('tr', {}, ...['time', 'device time', 'class', 'score'].map((h) => el('th', {}, h)))
  const rows = recent.map((e) => e.kind === 'classification'
    ? el('tr', { class: e.classification && e.label !== 'Unknown' ? 'keyword' : '' }, el('td', {}, new Date(e.host_time * 1000).toLocaleTimeString()),
      el('td', { class: 'num' }, e.device_time === null ? '?' : `${e.device_time.toFixed(2)} s`),
      el('td', {}, e.label), el('td', { class: 'num' }, e.score === null ? '?' : e.score.toFixed(2)))
    : el('tr', { class: 'log' }, el('td', {}, new Date(e.host_time * 1000).toLocaleTimeString()), el('td', { colspan: 3 }, e.text)))
  $('live-events').replaceChildren(head, ...rows)
}

function drawAudio(g, h, x) {
  const t0 = (h.firstSample + h.first * h.hopSamples) / h.rate
  const width = x(t0 + (h.peaks.length * h.hopSamples) / h.rate) - x(t0)
  g.fillStyle = '#868e96'
  h.peaks.forEach((peak, i) => {
    const half = (peak / 32768) * 30
    g.fillRect(x(t0 + (i * h.hopSamples) / h.rate), 35 - half, Math.max(1, width / h.peaks.length), 2 * half + 1)
  })
  const bands = h.columns[0].length
  const image = new ImageData(h.columns.length, bands)
  h.columns.forEach((column, i) => column.forEach((v, band) => {
    const at = ((bands - 1 - band) * h.columns.length + i) * 4 // low frequencies at the bottom
    image.data.set([Math.min(255, v * 1.4), Math.max(0, v * 1.8 - 180), Math.max(0, 140 - Math.abs(v - 110)), 255], at)
  }))
  const strip = new OffscreenCanvas(h.columns.length, bands)
  strip.getContext('2d').putImageData(image, 0, 0)
  g.imageSmoothingEnabled = false
  g.drawImage(strip, x(t0), 72, width, 140)
  g.canvas.dataset.hops = String(h.next)
}

async function liveRecord() {
  const meta = {}
  for (const pair of $('rec-meta').value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, ...value] = pair.split('=')
    if (!value.length) { say(`metadata "${pair}" needs the form KEY=VALUE`, true); return }
    meta[key.trim()] = value.join('=').trim()
  }
  if (live.timer) await liveDisconnect() // the capture needs the port to itself
  $('rec-result').textContent = 'recording…'
  $('rec-start').disabled = true
  const body = {
    port: $('live-port').value.trim(), label: $('rec-label').value, seconds: Number($('rec-seconds').value),
    set: $('rec-set').value || null, meta, baud: $('live-baud').value ? Number($('live-baud').value) : null,
  }
  const result = await attempt(() => api('POST', '/api/live/record', body))
  $('rec-start').disabled = false
  $('rec-result').replaceChildren()
  if (result) {
    $('rec-result').append(`${result.summary}; added `, el('a', { href: `#/rec/${encodeURIComponent(result.file)}` }, result.file))
  }
}

function showLive() {
  fillSelect($('rec-label'), state.project.labels, $('rec-label').value || state.project.labels[0])
  fillSelect($('rec-set'), ['Train', 'Validate', 'Test'], $('rec-set').value, true)
  drawLive()
}

// ---- navigation -----------------------------------------------------------------------------

async function route() {
  const [, view, ...rest] = location.hash.split('/')
  const views = { '': 'recordings', summary: 'summary', models: 'models', rec: 'recording', live: 'live' }
  const name = views[view || ''] || 'recordings'
  for (const section of document.querySelectorAll('main > section')) section.hidden = section.id !== `view-${name}`
  for (const link of document.querySelectorAll('header nav a')) link.classList.toggle('active', link.dataset.view === name)
  await attempt(async () => {
    if (name === 'recordings') await loadRecordings()
    if (name === 'summary') await showSummary()
    if (name === 'models') await showModels()
    if (name === 'live') showLive()
    if (name === 'recording') {
      if (state.compareNext) { $('compare-session').value = state.compareNext; state.compareNext = null }
      await openRecording(decodeURIComponent(rest.join('/')))
      await loadCompare()
    }
  })
}

function wire() {
  $('session').addEventListener('change', () => { state.session = $('session').value; route() })
  $('session-new').addEventListener('click', () => sessionAction('new'))
  $('session-copy').addEventListener('click', () => sessionAction('copy'))
  $('session-rename').addEventListener('click', () => sessionAction('rename'))
  for (const id of ['search', 'filter-set', 'filter-label']) $(id).addEventListener('input', () => { state.page = 0; renderRecordings() })
  $('page-prev').addEventListener('click', () => { state.page = Math.max(0, state.page - 1); renderRecordings() })
  $('page-next').addEventListener('click', () => { state.page += 1; renderRecordings() })
  $('bulk-set').addEventListener('change', bulkSet)
  $('split-preview').addEventListener('click', () => split(false))
  $('split-apply').addEventListener('click', () => split(true))
  $('autolabel-all').addEventListener('click', async () => { await autolabel(null); await loadRecordings() })
  $('autolabel-one').addEventListener('click', async () => { if (await autolabel([state.rec.file])) await openRecording(state.rec.file) })
  $('compare-session').addEventListener('change', loadCompare)
  const drop = $('drop')
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over') })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); importFiles([...e.dataTransfer.files]) })
  $('import-files').addEventListener('change', async (e) => { await importFiles([...e.target.files]); e.target.value = '' })
  $('play').addEventListener('click', () => state.ws?.playPause())
  $('play-segment').addEventListener('click', () => playSegment())
  $('play-view').addEventListener('click', playView)
  $('zoom').addEventListener('input', () => state.ws?.zoom(Number($('zoom').value)))
  $('undo').addEventListener('click', undo)
  $('redo').addEventListener('click', redo)
  $('waveform').addEventListener('contextmenu', onWaveformContextMenu)
  $('run-start').addEventListener('click', runModel)
  $('live-connect').addEventListener('click', () => liveConnect(false))
  $('live-listen').addEventListener('click', () => liveConnect(true))
  $('live-disconnect').addEventListener('click', liveDisconnect)
  $('rec-start').addEventListener('click', liveRecord)
  document.addEventListener('keydown', onKey)
  window.addEventListener('hashchange', route)
}

wire()
await attempt(loadProject)
await route()
document.documentElement.dataset.loaded = '1'
