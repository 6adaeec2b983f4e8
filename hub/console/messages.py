"""Every string the console shows, in Simplified Chinese first and English: one catalog.

Templates and pages call `t("key", **values)` (a Translator for the visitor's language);
values are filled with str.format. The language is the `hub_console_lang` cookie (the
switch in the header) or else the browser's Accept-Language; zh-CN when neither names one
we have. A key missing from the catalog fails the tests (tests/hub/console/test_messages.py),
never a page: it shows the key.
"""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_COOKIE", "MESSAGES", "Translator",
           "language_of"]

LANGUAGES = {"zh-CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGE_COOKIE = "hub_console_lang"

# key: (zh-CN, en)
MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("客服集成中枢 · 运维控制台", "Integration hub · Console"),
    "nav.tickets": ("工单", "Tickets"),
    "nav.outbox": ("回写队列", "Outbox"),
    "nav.dead_letters": ("死信", "Dead letters"),
    "nav.jobs": ("作业", "Jobs"),
    "nav.runs": ("运行记录", "Runs"),
    "nav.signout": ("退出", "Sign out"),
    "user.roles": ("角色", "Roles"),
    "role.agent": ("坐席", "agent"),
    "role.integrator": ("集成管理员", "integrator"),
    "role.admin": ("管理员", "admin"),
    # sign-in
    "signin.title": ("登录", "Sign in"),
    "signin.api_key": ("API 密钥", "API key"),
    "signin.hint": ("使用 `hub apikeys create` 生成的密钥；控制台只保存会话，不保存密钥。",
                    "A key made by `hub apikeys create`; the console keeps a session, never "
                    "the key."),
    "signin.submit": ("登录", "Sign in"),
    "signin.refused": ("密钥未被接受", "The key was not accepted"),
    "signin.ended": ("会话已结束（已过期，或密钥已被吊销），请重新登录。",
                     "Your session has ended (it expired, or its key was revoked): sign in "
                     "again."),
    "signin.oidc": ("使用单点登录（OIDC）", "Sign in with single sign-on (OIDC)"),
    # errors
    "error.title": ("出错了", "Something went wrong"),
    "error.status.400": ("请求有误", "Bad request"),
    "error.status.401": ("需要登录", "Sign-in required"),
    "error.status.403": ("无权操作", "Not allowed"),
    "error.status.404": ("未找到", "Not found"),
    "error.status.409": ("状态冲突", "Conflict"),
    "error.status.422": ("内容无效", "Invalid input"),
    "error.status.500": ("服务器错误", "Server error"),
    "error.not_found": ("没有这个页面。", "There is no such page."),
    "error.home": ("返回首页", "Back to the console"),
    # lists
    "filter.any": ("全部", "Any"),
    "filter.apply": ("筛选", "Filter"),
    "filter.clear": ("清除", "Clear"),
    "filter.q_hint": ("标题包含…", "Subject contains…"),
    "page.first": ("« 第一页", "« First page"),
    "page.next": ("下一页 »", "Next page »"),
    # fields
    "field.subject": ("标题", "Subject"),
    "field.status": ("状态", "Status"),
    "field.channel": ("渠道", "Channel"),
    "field.priority": ("优先级", "Priority"),
    "field.category": ("分类", "Category"),
    "field.customer_id": ("客户 ID", "Customer id"),
    "field.q": ("搜索", "Search"),
    "field.contact": ("联系人", "Contact"),
    "field.contact_name": ("联系人", "Contact"),
    "field.contact_mobile": ("手机", "Mobile"),
    "field.contact_email": ("邮箱", "Email"),
    "field.enrichment": ("画像", "Enrichment"),
    "field.created_at": ("创建时间", "Created"),
    "field.resolved_at": ("解决时间", "Resolved"),
    "field.description": ("描述", "Description"),
    "field.name": ("姓名", "Name"),
    "field.company": ("公司", "Company"),
    "field.tier": ("等级", "Tier"),
    "field.source": ("来源", "Source"),
    "field.system": ("系统", "System"),
    "field.fetched_at": ("读取时间", "Read at"),
    "field.freshness": ("新鲜度", "Freshness"),
    "field.error": ("错误", "Error"),
    "field.action": ("动作", "Action"),
    "field.connection": ("连接", "Connection"),
    "field.key": ("幂等键", "Idempotency key"),
    "field.step": ("进度", "Step"),
    "field.number": ("单据号", "Document number"),
    "field.ticket": ("工单", "Ticket"),
    "field.job": ("作业", "Job"),
    "field.attempts": ("尝试次数", "Attempts"),
    "field.mapping": ("映射", "Mapping"),
    "field.next_attempt_at": ("下次尝试", "Next attempt"),
    "field.done_at": ("完成时间", "Done"),
    "field.kind": ("类型", "Kind"),
    "field.schedule": ("计划", "Schedule"),
    "field.next_run_at": ("下次运行", "Next run"),
    "field.last_run": ("上次运行", "Last run"),
    "field.trigger": ("触发方式", "Trigger"),
    "field.started_at": ("开始时间", "Started"),
    "field.finished_at": ("结束时间", "Finished"),
    "field.duration": ("耗时", "Duration"),
    "field.host": ("主机", "Host"),
    "field.budget_wait": ("限流等待", "Rate-limit wait"),
    "field.record": ("记录", "Record"),
    "field.reason": ("原因", "Reason"),
    # values
    "status.open": ("待处理", "open"),
    "status.pending": ("挂起", "pending"),
    "status.resolved": ("已解决", "resolved"),
    "status.closed": ("已关闭", "closed"),
    "priority.low": ("低", "low"),
    "priority.normal": ("普通", "normal"),
    "priority.high": ("高", "high"),
    "priority.urgent": ("紧急", "urgent"),
    "channel.web": ("网页", "web"),
    "channel.phone": ("电话", "phone"),
    "channel.email": ("邮件", "email"),
    "channel.wechat": ("微信", "WeChat"),
    "channel.dingtalk": ("钉钉", "DingTalk"),
    "channel.wecom": ("企业微信", "WeCom"),
    "channel.api": ("API", "API"),
    "channel.other": ("其他", "other"),
    "enrichment.pending": ("画像中", "pending"),
    "enrichment.enriched": ("已补全", "enriched"),
    "enrichment.partial": ("部分补全", "partial"),
    "enrichment.not_found": ("未找到客户", "no customer"),
    "enrichment.skipped": ("已跳过", "skipped"),
    "enrichment.failed": ("补全失败", "failed"),
    "source.ok": ("正常", "ok"),
    "source.failed": ("失败", "failed"),
    "source.not_found": ("未找到", "not found"),
    "source.skipped": ("已跳过", "skipped"),
    "source.cached": ("缓存", "cached"),
    "source.stale": ("过期数据", "stale"),
    "source.retry_at": ("将于 {at} 重试", "retried at {at}"),
    "outbox.pending": ("待发送", "pending"),
    "outbox.done": ("已完成", "done"),
    "outbox.dead": ("死信", "dead letter"),
    "run.running": ("运行中", "running"),
    "run.succeeded": ("成功", "succeeded"),
    "run.partial": ("部分成功", "partial"),
    "run.failed": ("失败", "failed"),
    "run.interrupted": ("中断", "interrupted"),
    "kind.pull": ("拉取", "pull"),
    "kind.enrich": ("画像", "enrich"),
    "kind.writeback": ("回写", "write-back"),
    "kind.import": ("导入", "import"),
    "kind.notify": ("通知", "notify"),
    "refund.wire": ("转账", "wire transfer"),
    "refund.cash": ("现金", "cash"),
    "error_kind.rejected": ("对方拒绝", "refused"),
    "error_kind.transient": ("暂时失败", "transient"),
    "error_kind.auth": ("认证失败", "authentication"),
    "error_kind.rate_limited": ("被限流", "rate-limited"),
    "error_kind.unknown": ("结果未知", "outcome unknown"),
    "count.pages": ("页数", "Pages"),
    "count.read": ("读取", "Read"),
    "count.created": ("新增", "Created"),
    "count.updated": ("更新", "Updated"),
    "count.unchanged": ("未变", "Unchanged"),
    "count.rejected": ("拒收", "Rejected"),
    "count.skipped": ("跳过", "Skipped"),
    "count.retries": ("重试", "Retries"),
    "age.seconds": ("{n} 秒前", "{n} s ago"),
    "age.minutes": ("{n} 分钟前", "{n} min ago"),
    "age.hours": ("{n} 小时前", "{n} h ago"),
    "age.days": ("{n} 天前", "{n} days ago"),
    "age.in_future": ("刚刚", "just now"),
    # tickets
    "tickets.title": ("工单", "Tickets"),
    "tickets.none": ("没有符合条件的工单。", "No ticket matches."),
    "ticket.contact": ("联系人", "Contact"),
    "ticket.profile": ("客户画像", "Customer profile"),
    "ticket.no_customer": ("尚未匹配到客户。", "No customer found (yet)."),
    "ticket.enrichment_failed": ("画像补全失败，不再自动重试（{at}）。修复后执行 hub enrich retry "
                                 "重新补全。原因：", "Enrichment failed for good and is not "
                                 "retried ({at}); once fixed, hub enrich retry tries again. "
                                 "Reason:"),
    "ticket.summary": ("订单 {orders} 笔，累计消费 {total}，互动 {interactions} 次",
                       "{orders} orders, {total} spent, {interactions} interactions"),
    "ticket.sources": ("各系统的应答", "How each system answered"),
    "ticket.no_sources": ("尚未查询任何系统。", "No system asked yet."),
    "ticket.orders": ("订单", "Orders"),
    "ticket.deliveries": ("发货", "Deliveries"),
    "ticket.interactions": ("互动记录", "Interactions"),
    "ticket.records_from": ("{n} 条", "{n} records"),
    "ticket.fetched": ("读取于 {age}", "read {age}"),
    "ticket.none_of_kind": ("无。", "None."),
    "ticket.kb": ("知识库推荐", "Knowledge-base suggestions"),
    "ticket.no_kb": ("没有匹配的文章。", "No article matches."),
    "ticket.resolution": ("解决方案", "Resolution"),
    "ticket.writebacks": ("回写", "Write-backs"),
    "ticket.no_writebacks": ("没有回写。", "No write-back."),
    "resolve.title": ("解决工单", "Resolve"),
    "resolve.note": ("处理说明", "Note"),
    "resolve.customer_number": ("ERP 客户编号（留空：用客户画像中的）",
                                "ERP customer number (empty: the profile's)"),
    "resolve.refund": ("退款", "Refund"),
    "resolve.refund_amount": ("金额", "Amount"),
    "resolve.refund_method": ("方式", "Method"),
    "resolve.refund_reason": ("原因", "Reason"),
    "resolve.parts": ("备件", "Spare parts"),
    "resolve.parts_hint": ("每行一个：物料编号 数量 [单位] [仓库]",
                           "One a line: material qty [unit] [warehouse]"),
    "resolve.solution": ("解决方法（发布到知识库）", "Solution (for the knowledge base)"),
    "resolve.solution_title": ("标题", "Title"),
    "resolve.solution_problem": ("问题", "Problem"),
    "resolve.solution_cause": ("原因", "Cause"),
    "resolve.solution_solution": ("解决方法", "Solution"),
    "resolve.solution_product": ("产品", "Product"),
    "resolve.solution_labels": ("标签（逗号分隔）", "Labels (comma-separated)"),
    "resolve.solution_reusable": ("可复用：发布到知识库", "Reusable: publish it"),
    "resolve.submit": ("解决并回写", "Resolve and write back"),
    "resolve.confirm": ("确认解决此工单？退款和备件将写入 ERP。",
                        "Resolve this ticket? The refund and parts are written to the ERP."),
    "resolve.done": ("工单已解决；回写已进入队列。", "Resolved; the write-backs are queued."),
    "resolve.invalid": ("未解决：请修正以下内容。", "Not resolved: please correct these."),
    "resolve.error.parts_line": ("备件第 {line} 行格式不对：{text}",
                                 "Spare parts line {line} is not `material qty`: {text}"),
    # outbox
    "outbox.title": ("回写队列", "Outbox"),
    "outbox.none": ("队列为空。", "Nothing in the outbox."),
    "outbox.row": ("回写 #{id}", "Write #{id}"),
    "outbox.write": ("写入", "The write"),
    "outbox.answer": ("对方系统的应答", "The vendor's answer"),
    "outbox.no_answer": ("尚无应答。", "No answer yet."),
    "outbox.document": ("发送的单据", "The document sent"),
    "outbox.payload": ("回写源文档", "The write-back source document"),
    "outbox.payload_hint": ("映射读取的文档（展开）", "What the mapping read (open)"),
    "outbox.in_flight": ("发送中", "in flight"),
    "outbox.replays": ("重放 {n} 次", "replayed {n}×"),
    "dead.title": ("死信", "Dead letters"),
    "dead.explain": ("重试用尽或被对方拒绝的回写。修正原因后重放："
                     "按原幂等键再次发送，不会重复入账。",
                     "Writes that ran out of retries or were refused. Fix the cause, then "
                     "replay: each is sent again under its idempotency key, never twice."),
    "dead.none": ("没有死信。", "No dead letters."),
    "dead.select_all": ("全选", "Select all"),
    "dead.replay_selected": ("重放所选", "Replay selected"),
    "dead.replay_all": ("全部重放", "Replay all"),
    "dead.replay_all_confirm": ("重放全部死信？", "Replay every dead letter?"),
    "dead.replay_one": ("重放", "Replay"),
    "dead.replayed": ("已重放：{ids}", "Replayed: {ids}"),
    "dead.current_mapping": ("按当前映射版本重新生成", "On the current mapping version"),
    "dead.current_mapping_hint": ("勾选：映射已更新的行按当前版本从回写文档重新生成后发送；"
                                  "不勾选：按原样发送当初生成的文档。",
                                  "Ticked: a row whose mapping has changed since is made again "
                                  "from its write-back document by the current version; "
                                  "unticked: the document is sent as it was made."),
    # imports
    "nav.imports": ("导入", "Imports"),
    "run.queued": ("排队中", "queued"),
    "imports.title": ("导入", "Imports"),
    "imports.upload": ("上传表格导入", "Upload a spreadsheet"),
    "imports.file": ("文件", "File"),
    "imports.sheet": ("工作表", "Sheet"),
    "imports.header_row": ("表头行", "Header row"),
    "imports.force": ("已导入过也重新导入", "Import again if imported before"),
    "imports.submit": ("上传并导入", "Upload and import"),
    "imports.hint": ("CSV 或 Excel（.xlsx）；工作表和表头行可留空，由导入程序识别。"
                     "同一文件经同一映射版本只导入一次。",
                     "CSV or Excel (.xlsx); leave sheet and header row empty to have them "
                     "found. The same file through the same mapping version is imported "
                     "once."),
    "imports.report": ("错误报告", "Error report"),
    "imports.none": ("还没有导入。", "No imports yet."),
    "import.title": ("导入 #{id}", "Import #{id}"),
    "import.live": ("导入中，数字实时更新。", "Importing: the counts update live."),
    "import.estimated": ("（约 {n} 行）", "(about {n} rows)"),
    "import.duplicate_of": ("与之相同", "Same as"),
    "import.duplicate": ("此文件已导入过，未再导入（勾选“重新导入”可强制）。",
                         "This file was imported before and was not imported again (tick "
                         "“Import again” to force it)."),
    "import.report_hint": ("{n} 行被拒收：报告列出每行及原因，修正后可再次导入。",
                           "{n} rows were refused: the report lists each with its reasons; "
                           "fix them and import it again."),
    "import.download": ("下载 {kind}", "Download {kind}"),
    "import.report_later": ("导入结束后提供。", "Ready when the import ends."),
    "import.no_report": ("没有被拒收的行。", "No row was refused."),
    # mappings
    "nav.mappings": ("映射", "Mappings"),
    "mappings.title": ("字段映射", "Mappings"),
    "mappings.hint": ("mappings/ 目录中的映射。保存即生成新版本：原文件保留在 .versions/，"
                      "变更连同差异记入审计。",
                      "The mappings of the mappings/ folder. Saving makes a new version: the "
                      "previous file is kept in .versions/, the change audited with its diff."),
    "mappings.name": ("名称", "Name"),
    "mappings.version": ("版本", "Version"),
    "mappings.target": ("写入目标", "Target"),
    "mappings.fields": ("字段数", "Fields"),
    "mappings.kept": ("保留的旧版本", "Kept versions"),
    "mappings.state": ("状态", "State"),
    "mappings.problems": ("{n} 个问题", "{n} problems"),
    "mappings.compiles": ("可编译", "compiles"),
    "mappings.none": ("没有映射文件。", "No mapping files."),
    "mapping.title": ("映射 {name}", "Mapping {name}"),
    "mapping.yaml": ("YAML", "YAML"),
    "mapping.at": ("{file} 第 {line} 行第 {column} 列", "{file}, line {line}, column {column}"),
    "mapping.checking": ("检查中…", "Checking…"),
    "mapping.compiles": ("编译通过", "Compiles"),
    "mapping.not_saved": ("有问题：无法保存。", "Has problems: it cannot be saved."),
    "mapping.save": ("保存为新版本", "Save as a new version"),
    "mapping.saved": ("已保存为 v{version}。", "Saved as v{version}."),
    "mapping.conflict": ("未保存：此映射在你编辑期间已被他人保存。你的修改仍在下方，"
                         "请复制后重新载入页面再修改。",
                         "Not saved: someone else saved this mapping while you edited it. Your "
                         "edit is still below: copy it, reload the page and edit again."),
    "mapping.preview": ("预览", "Preview"),
    "mapping.sample_file": ("样例文件", "Sample file"),
    "mapping.sample_records": ("或粘贴样例记录（JSON）", "Or paste sample records (JSON)"),
    "mapping.input": ("输入", "Input"),
    "mapping.output": ("输出", "Output"),
    "mapping.skipped": ("（被过滤条件跳过）", "(skipped by the filter)"),
    "mapping.preview_hint": ("每次修改都会用真实的映射编译器检查并预览；不写入任何数据。",
                             "Every edit is checked and previewed by the real mapping "
                             "compiler; nothing is written."),
    "mapping.read_only": ("你的角色只能查看映射。", "Your role may only look at mappings."),
    "mapping.versions": ("保留的旧版本", "Kept versions"),
    "mapping.replaced_at": ("被替换时间", "Replaced"),
    "mapping.kept_as": ("文件", "File"),
    "mapping.no_versions": ("尚未通过控制台保存过。", "Not saved from the console yet."),
    "mapping.restore": ("恢复为新版本", "Restore as a new version"),
    "mapping.restore_confirm": ("把 v{version} 的内容保存为新版本？",
                                "Save the text of v{version} as a new version?"),
    "mapping.restored": ("已恢复 {file}，保存为 v{version}。",
                         "Restored {file}, saved as v{version}."),
    "mapping.created": ("已新建映射 {name}（v1）。", "Mapping {name} created (v1)."),
    "mapping.live_source": ("连接:数据流", "Connection:stream"),
    "mapping.live_read": ("读取实时记录", "Read live records"),
    "mapping.live_reading": ("正在读取…", "Reading…"),
    "mapping.live_read_n": ("已读取 {n} 条记录。", "{n} records read."),
    "mappings.new": ("新建映射", "New mapping"),
    "mappings.new_name": ("名称", "Name"),
    "mappings.template": ("模板", "Template"),
    "mappings.create": ("新建", "Create"),
    "mappings.new_hint": ("新映射是所选模板的副本（版本 1），创建后在编辑器中修改并保存；"
                          "作业引用它之前不会被使用。",
                          "A new mapping is a copy of the chosen template (version 1): edit and "
                          "save it in the editor; no job uses it until one names it."),
    # jobs and runs
    "jobs.title": ("作业", "Jobs"),
    "jobs.actions": ("操作", "Actions"),
    "jobs.trigger": ("立即运行", "Run now"),
    "jobs.pause": ("暂停", "Pause"),
    "jobs.resume": ("恢复", "Resume"),
    "jobs.paused": ("已暂停", "paused"),
    "jobs.on_demand": ("按需", "on demand"),
    "jobs.never_ran": ("从未运行", "never ran"),
    "jobs.all_runs": ("全部运行记录", "all runs"),
    "jobs.changed": ("作业 {job} 已更新。", "Job {job} updated."),
    "jobs.scheduler_hint": ("作业由 `hub scheduler` 执行；"
                            "“立即运行”在它的下一次检查时开始（约 1 秒）。",
                            "Jobs run under `hub scheduler`; “Run now” starts at its next tick "
                            "(about a second)."),
    "runs.title": ("运行记录", "Runs"),
    "runs.none": ("没有运行记录。", "No runs."),
    "runs.ms": ("{ms} 毫秒", "{ms} ms"),
    "runs.waiting": ("已请求运行 {job}，等待调度器开始…",
                     "Run of {job} requested; waiting for the scheduler to start it…"),
    "run.title": ("运行 #{id}", "Run #{id}"),
    "run.live": ("运行中，数字实时更新。", "Running: the counts update live."),
    "run.rejected": ("拒收的记录（{n}）", "Rejected records ({n})"),
    "run.rejected_first": ("仅显示前 {n} 条。", "Only the first {n} are kept."),
    "run.no_rejected": ("没有拒收的记录。", "No record was rejected."),
    "run.timeline": ("运行 #{id} 的分片时间线", "Run #{id}: its parts over time"),
    "run.parts": ("分片（{n}）", "Parts ({n})"),
    "timeline.note": ("读取 {read}，拒收 {rejected}，第 {attempts} 次尝试，工作进程 {worker}",
                      "read {read}, rejected {rejected}, attempt {attempts}, worker {worker}"),
    "part.done": ("完成", "done"),
    "part.failed": ("失败", "failed"),
    "part.running": ("进行中", "running"),
    "part.pending": ("等待中", "pending"),
    "jobs.cursor": ("同步游标", "Sync cursor"),
    "jobs.no_cursor": ("无（下次从头读取）", "none (next run reads from the start)"),
    "jobs.reset": ("重置游标…", "Reset cursor…"),
    "jobs.was_reset": ("作业 {job} 的游标已重置。", "The cursor of job {job} was reset."),
    "reset.title": ("重置 {job} 的游标", "Reset the cursor of {job}"),
    "reset.now": ("当前游标", "Cursor now"),
    "reset.explain": ("重置只改变下次运行从哪里开始读取；已保存的记录保持不变。"
                      "运行中的作业不能重置。",
                      "A reset only changes where the next run starts reading; stored records "
                      "stay. A job that is running cannot be reset."),
    "reset.from_start": ("从头读取（全量刷新）", "From the start (a full refresh)"),
    "reset.to_value": ("从这个值开始：", "From this value:"),
    "reset.confirm": ("确认重置", "Reset the cursor"),
    "reset.cancel": ("取消", "Cancel"),
    "reset.value_needed": ("请填写游标值，例如 2026-03-01T00:00:00+08:00。",
                           "Type a cursor value, e.g. 2026-03-01T00:00:00+08:00."),
    # dashboard
    "nav.dashboard": ("仪表盘", "Dashboard"),
    "dashboard.title": ("仪表盘", "Dashboard"),
    "dashboard.days": ("时间范围", "Period"),
    "dashboard.last_days": ("最近 {n} 天", "Last {n} days"),
    "dashboard.timezone": ("时区（按当地零点分日）", "Time zone (days cut at local midnight)"),
    "dashboard.generated_at": ("数据生成于 {at}（{age}；最多缓存 30 秒）",
                               "Figures computed at {at} ({age}; reused for at most 30 s)"),
    "dashboard.tickets_total": ("{n} 天内新建工单", "Tickets opened in {n} days"),
    "dashboard.open_breached": ("未解决且已超时", "Open past their SLA"),
    "dashboard.coverage": ("画像覆盖率", "Enrichment coverage"),
    "dashboard.backlog": ("待回写", "Write-back backlog"),
    "dashboard.dead_letters": ("死信", "Dead letters"),
    "dashboard.writeback_success": ("回写成功率", "Write-back success"),
    "dashboard.health": ("连接健康度", "Connection health"),
    "dashboard.tickets_by_channel": ("每日工单 · 按渠道", "Tickets per day · by channel"),
    "dashboard.tickets_by_category": ("每日工单 · 按分类", "Tickets per day · by category"),
    "dashboard.tickets_by_status": ("每日工单 · 按当前状态", "Tickets per day · by status now"),
    "dashboard.sla": ("SLA：按新建日", "SLA by day opened"),
    "dashboard.sla_targets": ("解决时限", "Resolution targets"),
    "dashboard.resolution": ("解决用时（按解决日）", "Time to resolution (by day resolved)"),
    "dashboard.resolution_median": ("中位数（小时）", "Median (hours)"),
    "dashboard.resolution_p90": ("P90（小时）", "90th percentile (hours)"),
    "dashboard.first_response": ("首次响应用时（按新建日）",
                                 "Time to first response (by day opened)"),
    "dashboard.first_response_hint": ("首次响应：第一条发给客户的回复、坐席第一次改状态或"
                                      "解决，取最早者；尚未响应的工单不计入。",
                                      "The first reply sent to the customer, status change by "
                                      "an agent, or resolution, whichever came first; tickets "
                                      "not answered yet are not counted."),
    "dashboard.enrichment": ("画像补全", "Enrichment"),
    "dashboard.enrichment_failed": ("重试用尽", "Gave up after retries"),
    "dashboard.enrichment_queued": ("排队中", "Queued"),
    "dashboard.sync": ("同步新鲜度（拉取作业）", "Sync freshness (pull jobs)"),
    "dashboard.last_success": ("上次成功", "Last success"),
    "dashboard.lag": ("逾期", "Overdue by"),
    "dashboard.seconds": ("{n} 秒", "{n} s"),
    "dashboard.stale": ("过期", "stale"),
    "dashboard.fresh": ("新鲜", "fresh"),
    "dashboard.no_pull_jobs": ("没有拉取作业。", "No pull jobs."),
    "dashboard.writeback": ("回写", "Write-back"),
    "dashboard.overdue": ("已到期未发送", "Due and not yet sent"),
    "dashboard.oldest_pending": ("最早的待回写", "Oldest pending"),
    "dashboard.done_in_window": ("期间完成", "Done in period"),
    "dashboard.dead_in_window": ("期间死信", "Dead in period"),
    "category.(none)": ("未分类", "(none)"),
    "sla.breached": ("已超时", "breached"),
    "sla.running": ("计时中", "running"),
    "sla.met": ("按时解决", "met"),
    "health.ok": ("正常", "ok"),
    "health.warning": ("预警", "warning"),
    "health.failing": ("故障", "failing"),
    "health.idle": ("无调用", "idle"),
    "health.gauge": ("{name} 健康分", "{name} health score"),
    "health.sparkline": ("{name} 最近 {n} 个窗口的健康分", "{name} health score, last {n} windows"),
    "health.history": ("健康分历史", "Health score history"),
    "health.explain": ("每个窗口 {hours} 小时，曲线为最近 {n} 个窗口；分数下滑、限流、"
                       "延迟翻倍或凭证被拒时先预警，再到故障。",
                       "Windows of {hours} h; the line is the last {n}. A falling score, "
                       "throttling, doubled latency or a refused credential warn before "
                       "things fail."),
    "health.window": ("本窗口调用 {calls} 次，作业运行 {runs} 次",
                      "{calls} calls, {runs} runs in this window"),
    "health.trend": ("较上一窗口 {trend}", "{trend} since the window before"),
    "health.reason.failed_runs": ("其作业 {runs} 次运行中 {failed} 次失败",
                                  "{failed} of {runs} runs of its jobs failed"),
    "health.reason.low_score": ("健康分 {score} 低于 {limit}", "score {score} < {limit}"),
    "health.reason.fell": ("较上一窗口下降 {points} 分",
                           "score fell {points} points since the window before"),
    "health.reason.slower": ("P95 延迟 {before} → {now} 毫秒",
                             "p95 latency {before} → {now} ms"),
    "health.reason.tokens": ("凭证被拒 {n} 次", "{n} token/credential refusals"),
    # connections
    "nav.connections": ("连接", "Connections"),
    "connections.title": ("连接", "Connections"),
    "connections.check_now": ("立即检查", "Check now"),
    "connections.checked_ok": ("{name}：检查通过（可达、凭证有效、有权限）。",
                               "{name}: check passed (reachable, credentials accepted, "
                               "permitted)."),
    "connections.checked_failed": ("{name}：检查未通过。", "{name}: the check failed."),
    "connections.last_check": ("最近一次检查", "Last check"),
    "connections.never_checked": ("尚未检查过。", "Never checked."),
    "connections.steps": ("可达 {reachable} · 认证 {authenticated} · 权限 {permitted}",
                          "reachable {reachable} · authenticated {authenticated} · "
                          "permitted {permitted}"),
    "connections.window_start": ("窗口开始", "Window from"),
    "connections.calls": ("调用", "Calls"),
    "connections.success_rate": ("应答率", "Answered"),
    "connections.throttled": ("限流", "Throttled"),
    "connections.token_failures": ("凭证被拒", "Token refusals"),
    "connections.failed_runs": ("失败运行", "Failed runs"),
    "connections.score": ("健康分", "Score"),
    "connections.health_at": ("健康度读取于 {at}（{age}；最多缓存 30 秒）。",
                              "Health read at {at} ({age}; reused for at most 30 s)."),
    "check.ok": ("通过", "passed"),
    "check.failed": ("未通过", "failed"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # audit
    "nav.audit": ("审计", "Audit"),
    "audit.title": ("审计日志", "Audit log"),
    "audit.chain": ("哈希链", "The hash chain"),
    "audit.chain_ok": ("完整", "intact"),
    "audit.chain_broken": ("已损坏", "broken"),
    "audit.chain_summary": ("{checked} 行已校验，签名链头一致，{checkpoints} 个检查点吻合。",
                            "{checked} rows checked, the signed head matches, "
                            "{checkpoints} checkpoints matched."),
    "audit.chain_problem": ("前 {checked} 行正常，之后：", "After {checked} good rows:"),
    "audit.unkeyed": ("第 1–{n} 行在启用密钥前写入（仅 SHA-256）：能写数据库的人可能改写过它们。",
                      "Rows 1-{n} were written before the chain was keyed (plain SHA-256): "
                      "anyone who could write the database could have rewritten them."),
    "audit.verified_at": ("校验于 {at}（{age}；超过 1 分钟则重新校验，"
                          "与 `hub audit verify` 相同）",
                          "Verified at {at} ({age}; verified again when over a minute old, "
                          "as `hub audit verify` checks)"),
    "audit.verify_now": ("立即校验", "Verify now"),
    "audit.chain_unknown": ("校验中", "being verified"),
    "audit.verifying": ("正在后台校验整条链（每行都要核对，日志越大越久）。",
                        "The whole chain is being verified in the background (every row is "
                        "checked: the longer the log, the longer it takes)."),
    "audit.reload": ("刷新查看", "Reload to see it"),
    "audit.actor": ("操作者", "Actor"),
    "audit.target": ("对象", "Target"),
    "audit.since": ("起（UTC，含）", "Since (UTC, inclusive)"),
    "audit.until": ("止（UTC，不含）", "Until (UTC, exclusive)"),
    "audit.limit": ("每页", "Per page"),
    "audit.hint": ("精确匹配；以 * 结尾为前缀匹配（如 console:*、ticket.*）。最新的在前。",
                   "Exact, or a prefix when it ends in * (console:*, ticket.*). Newest first."),
    "audit.at": ("时间", "At"),
    "audit.outcome": ("结果", "Outcome"),
    "audit.detail": ("详情", "Detail"),
    "audit.none": ("没有符合条件的审计记录。", "No audit row matches."),
}


class Translator:
    """`t(key, **values)` in one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._index = 0 if self.language == "zh-CN" else 1

    def has(self, key: str) -> bool:
        return key in MESSAGES

    def __call__(self, key: str, **values: object) -> str:
        texts = MESSAGES.get(key)
        if texts is None:
            return key
        text = texts[self._index]
        return text.format(**values) if values else text


def language_of(request: Request) -> str:
    """The visitor's language: the switch's cookie, else Accept-Language, else zh-CN."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    weighted = []
    for position, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(weighted):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE
