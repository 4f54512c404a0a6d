// Interface text in Simplified Chinese (the default) and English, and the formatting of times
// and ages. Static labels in index.html carry data-i18n (text), data-i18n-label (aria-label),
// data-i18n-placeholder and data-i18n-title; everything drawn later asks t().

const zh = {
  'app.title': 'Gridline 网格督办台',
  'app.short': '督办台',
  'signin.heading': '督办员登录',
  'signin.token': '访问令牌',
  'signin.hint': '粘贴 gridline server add-user 发给您的令牌（glt_ 开头）。令牌只保存在本标签页，关闭即清除。',
  'signin.submit': '登录',
  'signin.checking': '正在验证…',
  'signin.rider': '这是骑手（rider）的令牌。督办台只对网格督办员和管理员开放，请使用督办员令牌。',
  'signin.invalid': '令牌无效或已过期。',
  'signin.empty': '请先粘贴令牌。',
  'signin.limited': '尝试次数过多，请 {s} 秒后再试。',
  'signin.network': '无法连接服务器：{msg}',
  'signin.expired': '登录已失效，请重新登录。',
  'top.signout': '退出登录',
  'top.lang': 'English',
  'top.lang.label': '切换到英文界面',
  'top.help': '快捷键 ?',
  'top.map': '地图 m',
  'top.who': '{name}（{role}）',
  'role.supervisor': '督办员',
  'role.admin': '管理员',
  'role.rider': '骑手',
  'sync.loading': '正在载入工单… {n}',
  'sync.live': '实时 · {time} 更新',
  'sync.error': '同步中断：{msg}（稍后重试）',
  'filters.label': '筛选',
  'filters.kind': '类型',
  'filters.category': '类别',
  'filters.grid': '网格',
  'filters.from': '接收自',
  'filters.to': '接收至',
  'filters.text': '搜索备注或工单号',
  'filters.sort': '排序',
  'filters.reset': '清除筛选',
  'filters.any': '全部',
  'filters.nogrid': '（无网格）',
  'sort.received_desc': '接收时间（新→旧）',
  'sort.received_asc': '接收时间（旧→新）',
  'sort.updated_desc': '最近变动',
  'sort.severity_desc': '紧急程度',
  'sort.status': '状态',
  'sort.category': '类别',
  'counts.label': '各状态数量',
  'counts.all': '全部',
  'list.label': '工单列表',
  'list.shown': '显示 {shown} / 共 {total}',
  'list.empty': '没有符合条件的工单',
  'list.none': '您的网格暂无工单',
  'list.select': '选择 {id}',
  'bulk.selected': '已选 {n} 件',
  'bulk.accept': '批量立案',
  'bulk.dispatch': '批量派遣',
  'bulk.clear': '取消选择',
  'bulk.selectShown': '全选当前列表',
  'bulk.done': '批量{action}：成功 {ok}，跳过 {skipped}（状态不符），冲突 {conflicts}，失败 {failed}',
  'status.submitted': '待受理',
  'status.accepted': '已立案',
  'status.dispatched': '已派遣',
  'status.resolved': '已处置',
  'status.closed': '已结案',
  'status.rejected': '不予立案',
  'status.duplicate': '重复',
  'severity.low': '低',
  'severity.medium': '中',
  'severity.high': '高',
  'severity.urgent': '紧急',
  'kind.road_damage': '道路破损',
  'kind.garbage_sorting': '垃圾分类',
  'kind.anti_fraud_outreach': '反诈宣传',
  'kind.other': '其他',
  'map.label': '网格地图',
  'map.zoomIn': '放大',
  'map.zoomOut': '缩小',
  'map.reset': '复位',
  'map.cursor': '指针 WGS-84 {wgs} · GCJ-02 {gcj}',
  'map.points': '地图显示 {n} 个点（与列表筛选一致）',
  'map.grid': '网格 {id} {name}：点击按此网格筛选',
  'detail.label': '工单详情',
  'detail.empty': '选择左侧工单查看详情（j/k 上下切换）',
  'detail.version': '版本 {v}',
  'detail.note': '备注',
  'detail.noNote': '（无备注）',
  'detail.fields': '类别信息',
  'detail.outreach': '宣传情况',
  'detail.people': '覆盖人数',
  'detail.materials': '发放材料',
  'detail.venue': '场所',
  'detail.location': '位置',
  'detail.wgs': 'WGS-84（经度,纬度）',
  'detail.gcj': 'GCJ-02 高德/腾讯（经度,纬度）',
  'detail.copy': '复制',
  'detail.copied': '已复制',
  'detail.accuracy': '精度 ±{m} 米 · {provider} · 定位于 {time}',
  'detail.warnings': '定位质量提示',
  'detail.grid': '网格',
  'detail.reporter': '上报人',
  'detail.submittedBy': '提交账号',
  'detail.times': '时间',
  'detail.created': '创建',
  'detail.submitted': '提交',
  'detail.received': '接收',
  'detail.updated': '更新',
  'detail.photos': '照片',
  'detail.noPhotos': '无照片',
  'detail.photoPending': '照片尚未上传',
  'detail.photoFailed': '照片载入失败',
  'detail.photoAlt': '工单 {id} 的照片 {n}',
  'detail.outcome': '处理结果',
  'detail.department': '派遣部门',
  'detail.resolution': '处置说明',
  'detail.rejectReason': '不予立案理由',
  'detail.duplicateOf': '重复于',
  'detail.history': '流转记录',
  'detail.by': '{by} · {time}',
  'detail.dups': '疑似重复（同类别、未办结、{m} 米内）',
  'detail.noDups': '附近没有同类未办结工单',
  'detail.dupRow': '{dist} 米 · {age}',
  'detail.actions': '操作',
  'detail.noActions': '该工单已办结，无可用操作',
  'warn.low_accuracy': '定位精度差（>100 米）',
  'warn.stale_fix': '定位已过时（提交前 2 分钟以上）',
  'warn.future_fix': '定位时间晚于提交时间（设备时钟有误）',
  'warn.mock_location': '系统标记为模拟定位',
  'warn.null_island': '坐标接近 (0,0)，可能未定位',
  'warn.outside_china': '位置在中国境外',
  'provider.gps': 'GPS',
  'provider.network': '网络定位',
  'provider.fused': '融合定位',
  'provider.manual': '手动选点',
  'provider.photo_exif': '照片 EXIF',
  'venue.street': '街面',
  'venue.shop': '商户',
  'venue.community': '社区',
  'venue.school': '学校',
  'venue.office': '办公场所',
  'venue.market': '市场',
  'venue.other': '其他',
  'action.accept': '立案',
  'action.dispatch': '派遣',
  'action.resolve': '处置',
  'action.close': '结案',
  'action.reject': '不予立案',
  'action.mark_duplicate': '标记重复',
  'action.done': '{id} 已{action}',
  'action.failed': '{id} {action}失败：{msg}',
  'action.invalid': '{id} 当前为「{status}」，不能{action}；已刷新。',
  'dialog.cancel': '取消',
  'dialog.confirm': '确认',
  'dialog.department': '派遣部门',
  'dialog.departmentFree': '部门名称（服务器未配置部门列表）',
  'dialog.note': '处置说明',
  'dialog.reason': '理由（骑手可见）',
  'dialog.templates': '常用理由',
  'dialog.of': '重复于工单号',
  'dialog.candidates': '疑似重复候选',
  'dialog.title': '{action} {id}',
  'dialog.bulkTitle': '{action}：已选 {n} 件',
  'reason.private': '位于私人区域，不属于公共空间案件',
  'reason.fixed': '现场核实问题已不存在',
  'reason.unclear': '信息不足，无法定位或核实',
  'reason.outside': '不属于城市管理职责范围',
  'reason.test': '测试或误报',
  'conflict.title': '{id} 已被他人更新',
  'conflict.intro': '您看到的是版本 {mine}，服务器上已是版本 {theirs}。这期间的变化：',
  'conflict.field': '{field}：{old} → {new}',
  'conflict.retry': '在最新工单上重试「{action}」',
  'conflict.notAllowed': '工单现为「{status}」，「{action}」已不可用。',
  'conflict.close': '知道了',
  'help.title': '快捷键',
  'help.close': '关闭',
  'key.next': '下一件工单',
  'key.prev': '上一件工单',
  'key.select': '选中/取消选中当前工单',
  'key.search': '搜索',
  'key.map': '显示/隐藏地图',
  'key.help': '显示本帮助',
  'key.escape': '关闭对话框 / 离开输入框',
  'key.bulkAccept': '批量立案已选工单',
  'key.bulkDispatch': '批量派遣已选工单',
  'time.ago': '{t}',
  'photo.close': '关闭',
  'photo.title': '照片 {n}/{of}',
};

const en = {
  'app.title': 'Gridline triage console',
  'app.short': 'Console',
  'signin.heading': 'Supervisor sign-in',
  'signin.token': 'Access token',
  'signin.hint': 'Paste the token `gridline server add-user` gave you (starts with glt_). It is kept in this tab only and cleared when the tab closes.',
  'signin.submit': 'Sign in',
  'signin.checking': 'Checking…',
  'signin.rider': 'This is a rider’s token. The console is for grid supervisors and admins: use a supervisor’s token.',
  'signin.invalid': 'The token is unknown or has expired.',
  'signin.empty': 'Paste a token first.',
  'signin.limited': 'Too many attempts; try again in {s} s.',
  'signin.network': 'Cannot reach the server: {msg}',
  'signin.expired': 'Your session has ended; sign in again.',
  'top.signout': 'Sign out',
  'top.lang': '中文',
  'top.lang.label': 'Switch to Chinese',
  'top.help': 'Shortcuts ?',
  'top.map': 'Map m',
  'top.who': '{name} ({role})',
  'role.supervisor': 'supervisor',
  'role.admin': 'admin',
  'role.rider': 'rider',
  'sync.loading': 'Loading tickets… {n}',
  'sync.live': 'Live · updated {time}',
  'sync.error': 'Sync interrupted: {msg} (retrying)',
  'filters.label': 'Filters',
  'filters.kind': 'Kind',
  'filters.category': 'Category',
  'filters.grid': 'Grid',
  'filters.from': 'Received from',
  'filters.to': 'Received to',
  'filters.text': 'Search note or ticket id',
  'filters.sort': 'Sort',
  'filters.reset': 'Clear filters',
  'filters.any': 'Any',
  'filters.nogrid': '(no grid)',
  'sort.received_desc': 'Received (newest first)',
  'sort.received_asc': 'Received (oldest first)',
  'sort.updated_desc': 'Recently changed',
  'sort.severity_desc': 'Severity',
  'sort.status': 'Status',
  'sort.category': 'Category',
  'counts.label': 'Tickets per status',
  'counts.all': 'All',
  'list.label': 'Tickets',
  'list.shown': '{shown} shown of {total}',
  'list.empty': 'No ticket matches these filters',
  'list.none': 'No tickets in your grids yet',
  'list.select': 'Select {id}',
  'bulk.selected': '{n} selected',
  'bulk.accept': 'Accept selected',
  'bulk.dispatch': 'Dispatch selected',
  'bulk.clear': 'Clear selection',
  'bulk.selectShown': 'Select all shown',
  'bulk.done': 'Bulk {action}: {ok} done, {skipped} skipped (status), {conflicts} conflicts, {failed} failed',
  'status.submitted': 'Submitted',
  'status.accepted': 'Accepted',
  'status.dispatched': 'Dispatched',
  'status.resolved': 'Resolved',
  'status.closed': 'Closed',
  'status.rejected': 'Rejected',
  'status.duplicate': 'Duplicate',
  'severity.low': 'low',
  'severity.medium': 'medium',
  'severity.high': 'high',
  'severity.urgent': 'urgent',
  'kind.road_damage': 'Road damage',
  'kind.garbage_sorting': 'Garbage sorting',
  'kind.anti_fraud_outreach': 'Anti-fraud outreach',
  'kind.other': 'Other',
  'map.label': 'Grid map',
  'map.zoomIn': 'Zoom in',
  'map.zoomOut': 'Zoom out',
  'map.reset': 'Reset',
  'map.cursor': 'Pointer WGS-84 {wgs} · GCJ-02 {gcj}',
  'map.points': '{n} points on the map (same filter as the list)',
  'map.grid': 'Grid {id} {name}: click to filter by it',
  'detail.label': 'Ticket',
  'detail.empty': 'Pick a ticket on the left (j/k move through the list)',
  'detail.version': 'version {v}',
  'detail.note': 'Note',
  'detail.noNote': '(no note)',
  'detail.fields': 'Category fields',
  'detail.outreach': 'Outreach',
  'detail.people': 'People reached',
  'detail.materials': 'Materials handed out',
  'detail.venue': 'Venue',
  'detail.location': 'Location',
  'detail.wgs': 'WGS-84 (lon,lat)',
  'detail.gcj': 'GCJ-02 for AMap/Tencent (lon,lat)',
  'detail.copy': 'Copy',
  'detail.copied': 'Copied',
  'detail.accuracy': '±{m} m · {provider} · fix at {time}',
  'detail.warnings': 'Location quality',
  'detail.grid': 'Grid',
  'detail.reporter': 'Reporter',
  'detail.submittedBy': 'Submitted by account',
  'detail.times': 'Times',
  'detail.created': 'Created',
  'detail.submitted': 'Submitted',
  'detail.received': 'Received',
  'detail.updated': 'Updated',
  'detail.photos': 'Photos',
  'detail.noPhotos': 'No photos',
  'detail.photoPending': 'Photo not uploaded yet',
  'detail.photoFailed': 'Photo failed to load',
  'detail.photoAlt': 'Photo {n} of ticket {id}',
  'detail.outcome': 'Outcome',
  'detail.department': 'Department',
  'detail.resolution': 'Resolution note',
  'detail.rejectReason': 'Reason for rejection',
  'detail.duplicateOf': 'Duplicate of',
  'detail.history': 'History',
  'detail.by': '{by} · {time}',
  'detail.dups': 'Possible duplicates (same category, open, within {m} m)',
  'detail.noDups': 'No open ticket of this category nearby',
  'detail.dupRow': '{dist} m · {age}',
  'detail.actions': 'Actions',
  'detail.noActions': 'This ticket is final; no action applies',
  'warn.low_accuracy': 'Poor accuracy (> 100 m)',
  'warn.stale_fix': 'Stale fix (over 2 minutes before submit)',
  'warn.future_fix': 'Fix after submit (wrong device clock)',
  'warn.mock_location': 'The OS flagged the fix as simulated',
  'warn.null_island': 'Near (0, 0): probably no fix',
  'warn.outside_china': 'Outside China',
  'provider.gps': 'GPS',
  'provider.network': 'network',
  'provider.fused': 'fused',
  'provider.manual': 'picked on a map',
  'provider.photo_exif': 'photo EXIF',
  'venue.street': 'street',
  'venue.shop': 'shop',
  'venue.community': 'community',
  'venue.school': 'school',
  'venue.office': 'office',
  'venue.market': 'market',
  'venue.other': 'other',
  'action.accept': 'Accept',
  'action.dispatch': 'Dispatch',
  'action.resolve': 'Resolve',
  'action.close': 'Close',
  'action.reject': 'Reject',
  'action.mark_duplicate': 'Mark duplicate',
  'action.done': '{id}: {action} done',
  'action.failed': '{id}: {action} failed: {msg}',
  'action.invalid': '{id} is {status} now; cannot {action}. Refreshed.',
  'dialog.cancel': 'Cancel',
  'dialog.confirm': 'Confirm',
  'dialog.department': 'Department',
  'dialog.departmentFree': 'Department (the server lists none)',
  'dialog.note': 'What was done',
  'dialog.reason': 'Reason (the rider sees it)',
  'dialog.templates': 'Reason templates',
  'dialog.of': 'Duplicate of ticket id',
  'dialog.candidates': 'Candidates',
  'dialog.title': '{action} {id}',
  'dialog.bulkTitle': '{action}: {n} selected',
  'reason.private': 'On private property: not a public-space case',
  'reason.fixed': 'Checked on site: the problem is gone',
  'reason.unclear': 'Not enough information to find or verify it',
  'reason.outside': 'Outside city management’s remit',
  'reason.test': 'A test or a mistake',
  'conflict.title': '{id} was changed by someone else',
  'conflict.intro': 'You saw version {mine}; the server has version {theirs}. What changed:',
  'conflict.field': '{field}: {old} → {new}',
  'conflict.retry': 'Retry “{action}” on the fresh ticket',
  'conflict.notAllowed': 'The ticket is {status} now; “{action}” no longer applies.',
  'conflict.close': 'OK',
  'help.title': 'Keyboard shortcuts',
  'help.close': 'Close',
  'key.next': 'Next ticket',
  'key.prev': 'Previous ticket',
  'key.select': 'Select or unselect the current ticket',
  'key.search': 'Search',
  'key.map': 'Show or hide the map',
  'key.help': 'Show this help',
  'key.escape': 'Close a dialog / leave a field',
  'key.bulkAccept': 'Accept the selected tickets',
  'key.bulkDispatch': 'Dispatch the selected tickets',
  'time.ago': '{t}',
  'photo.close': 'Close',
  'photo.title': 'Photo {n} of {of}',
};

const DICTS = { 'zh-CN': zh, en };
const LANG_KEY = 'gridline.console.lang';
let current = 'zh-CN';
try {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && DICTS[saved]) current = saved;
} catch {
  /* storage may be off; the default stands */
}

/** The current language tag (`zh-CN` or `en`). */
export function lang() {
  return current;
}

/** Switches the language (remembered in localStorage; it is not a secret). */
export function setLang(tag) {
  if (!DICTS[tag]) return;
  current = tag;
  try {
    localStorage.setItem(LANG_KEY, tag);
  } catch {
    /* ignore */
  }
  document.documentElement.lang = tag;
  applyStatic(document);
}

/** The text for `key` with `{name}` placeholders filled from `vars`. Unknown keys show
 * themselves, so a missing translation is visible rather than blank. */
export function t(key, vars = {}) {
  const text = DICTS[current][key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** True when `key` has a translation (used for codes the server may add, like warnings). */
export function has(key) {
  return key in DICTS[current] || key in zh;
}

/** Fills every data-i18n* attribute under `root`. */
export function applyStatic(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.setAttribute('title', t(el.dataset.i18nTitle));
  document.title = t('app.title');
}

const formats = new Map();
function fmt(kind) {
  const key = `${current}:${kind}`;
  if (!formats.has(key)) {
    const opts =
      kind === 'short'
        ? { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }
        : { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false };
    formats.set(key, new Intl.DateTimeFormat(current, opts));
  }
  return formats.get(key);
}

/** A full local date and time for an RFC 3339 string or epoch milliseconds. */
export function formatTime(value) {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) ? fmt('long').format(ms) : String(value);
}

/** A compact local date and time (worklist rows). */
export function formatShort(ms) {
  return Number.isFinite(ms) ? fmt('short').format(ms) : '';
}

/** How long ago `ms` was, in words ("3 小时前", "3 hours ago"). */
export function formatAge(ms, now = Date.now()) {
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: 'auto' });
  const s = Math.round((ms - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 60) return rtf.format(s, 'second');
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}
