"""Simplified Chinese by default, English on request: one small message catalogue per language."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from flask import g, request, session

SEED = Path(__file__).resolve().parent.parent / "seed" / "teams.json"
LANGUAGES = ("zh", "en")
LOCAL = timezone(timedelta(hours=8))

MESSAGES = {
    "zh": {
        "app": "城运工单", "inbox": "待办", "cases": "案件", "report": "上报", "dashboard": "看板",
        "admin": "用户与队伍", "logout": "退出", "login": "登录", "username": "用户名", "password": "密码",
        "login_failed": "用户名或密码错误", "task": "任务", "case": "案件", "due": "时限", "team": "队伍",
        "assignee": "处理人", "scenario": "场景", "stage": "阶段", "compound": "小区", "address": "地点",
        "device": "设备", "alerts": "告警次数", "channel": "来源", "severity": "等级", "urgent": "紧急",
        "claim": "认领", "unclaim": "退回", "reassign": "改派", "complete": "提交", "filter": "筛选", "all": "全部",
        "overdue": "已超时", "due_soon": "即将到期", "mine": "我的", "unclaimed": "待认领", "no_tasks": "暂无待办",
        "instructions": "操作说明", "form": "处置表单", "evidence": "证据", "history": "办理记录",
        "next_step": "下一步", "case_closed": "案件已结束", "form_errors": "表单有误，请修改后再提交",
        "yes": "是", "no": "否", "choose": "请选择", "timeline": "时间线", "diagram": "流程图",
        "deadline": "截止", "opened": "立案时间", "closed": "结案时间", "closed_count": "已结案", "rework": "返工次数", "outcome": "结果",
        "completed": "已完成", "active": "进行中", "new_case": "人工上报", "description": "描述", "submit": "提交",
        "period": "时间范围", "from": "从", "to": "至", "export_csv": "导出 CSV", "closure_rate": "结案率",
        "on_time_rate": "按期结案率", "rework_rate": "返工率", "avg_hours": "平均处置时长（小时）",
        "per_officer_day": "人均日办件", "by_stage": "各阶段案件", "by_scenario": "各场景案件",
        "volume_channel": "来源分布（按日）", "volume_scenario": "场景分布（按日）", "overdue_list": "超时案件",
        "users": "用户", "teams": "队伍", "roles": "角色", "add_user": "新增用户", "save": "保存", "active_user": "启用",
        "display_name": "姓名", "new_tasks": "有新待办", "files": "照片/文件", "keep_files": "已上传",
        "case_started": "案件已上报", "task_done": "任务已提交", "claimed": "已认领", "unclaimed_msg": "已退回",
        "reassigned": "已改派", "saved": "已保存", "refresh": "刷新", "no_cases": "暂无案件", "view": "查看",
        "search": "搜索", "search_hint": "案件号、地址、设备号", "opened_from": "立案自", "opened_to": "立案至",
        "page_of": "第 {page} / {pages} 页，共 {total} 件", "previous": "上一页", "next_page": "下一页",
        "search_refused": "搜索条件有误",
        "alerts_attached": "关联告警", "none": "无", "urgent_cases": "紧急案件", "count": "数量", "lang": "English",
        "team_tasks": "本队待认领", "my_tasks": "我认领的", "reassign_to": "改派给", "back": "返回",
        "error": "出错了", "not_found": "找不到该页面或无权查看", "forbidden": "无权进行此操作",
        "designer": "流程设计", "designer_hint": "已部署的流程及其各版本；运行中的案件按其启动时的版本办结，除非迁移到新版本。",
        "process": "流程", "version": "版本", "deployed_by": "部署人", "deployed_at": "部署时间",
        "running": "运行中实例", "newest": "最新", "still_in_use": "仍在使用", "deployment": "部署批次",
        "deployment_files": "文件", "compare": "版本对比", "roll_back": "回退到此版本",
        "roll_back_hint": "以此版本的文件发布一个新版本；新案件按它办理，运行中的案件不受影响。",
        "rolled_back": "已回退，新版本", "already_current": "该版本已是最新，未产生新版本",
        "no_changes": "两个版本的流程元素相同", "layout_changed": "图形布局有变化",
        "added": "新增", "removed": "删除", "changed": "修改", "element": "元素", "what": "变化项",
        "edit": "编辑流程图", "based_on": "基于", "validate": "校验", "deploy": "发布新版本", "valid": "校验通过",
        "problems_found": "发现问题", "problems": "问题",
        # moving running cases to a newer version (webui/migration.py)
        "migrate": "迁移运行中的案件", "migrate_to": "迁移运行中的案件到",
        "migrate_rule": "只有当新版本不改变案件已经到达或走过的任务时（在当前任务之后的时限、队伍、新任务等可以改变），案件才会迁移；否则它留在原版本，并列出原因。",
        "migrate_result": "迁移结果", "migrated": "已迁移", "migrate_refused": "未迁移",
        "nothing_to_migrate": "此版本已没有运行中的案件", "instance": "案件实例", "result": "结果", "reason": "原因",
        "element_removed": "在新版本中被删除", "element_changed": "在新版本中被修改：",
        "state_READY": "待处理", "state_WAITING": "等待中", "state_STARTED": "进行中", "state_COMPLETED": "已完成",
        "state_CANCELLED": "已取消", "state_ERROR": "出错",
        "attr_bpmn_name": "名称", "attr_lane": "泳道", "attr_extensions": "属性（时限、队伍、表单、阶段等）",
        "attr_script": "脚本", "attr_outputs": "后续连线", "attr_inputs": "前序连线", "attr_event_definition": "事件定义",
        "attr_typename": "元素类型", "attr_documentation": "说明", "attr_decision_table": "决策表",
        "attr_cond_task_specs": "分支条件", "attr_default_task_spec": "默认分支",
        "save_draft": "保存草稿", "discard_draft": "放弃草稿", "draft_saved": "草稿已保存",
        "draft_open": "正在编辑你的草稿", "draft_saved_at": "保存于", "draft_behind": "草稿基于较早的版本，最新版本为",
        "drafts": "草稿", "draft_author": "编辑人", "properties": "属性", "form_editor": "表单结构",
        "failed_instances": "自动步骤失败的案件", "failed_hint": "定时器、消息或脚本出错后暂停的案件：排除原因（如发布修正后的流程）后重试，或注明原因后撤销。",
        "failed_at": "失败时间", "failure": "原因", "retry": "重试", "retried": "已重试", "retry_failed": "重试仍然失败",
        "cancel_instance": "撤销案件", "cancel_reason": "撤销原因", "cancel_needs_reason": "撤销案件需要填写原因",
        "cancelled": "已撤销",
        "preview": "预览", "new_diagram": "新建流程图",
        "new_process_id": "新流程编号，如 playbook_noise", "new_process_invalid": "流程编号只能用字母、数字、下划线和连字符，且不以数字开头",
        "new_process_exists": "这个流程编号已经存在",
        # decision tables (webui/decisions.py) and bpmnlint on the modeler page
        "decisions": "决策表", "decision": "决策", "decisions_hint": "DMN 决策表及其各版本：决策内容每变化一次即为新版本；使用它的流程版本即与它一同部署的流程版本。",
        "used_by": "一同部署的流程版本", "edit_decision": "编辑决策表", "rules": "规则", "hit_policy": "命中策略",
        "inputs": "输入", "outputs": "输出", "decision_file": "决策文件", "lint": "建模检查（浏览器内）",
    },
    "en": {
        "app": "Case handling", "inbox": "Inbox", "cases": "Cases", "report": "Report", "dashboard": "Dashboard",
        "admin": "Users & teams", "logout": "Log out", "login": "Log in", "username": "User name",
        "password": "Password", "login_failed": "Wrong user name or password", "task": "Task", "case": "Case",
        "due": "Due", "team": "Team", "assignee": "Holder", "scenario": "Scenario", "stage": "Stage",
        "compound": "Compound", "address": "Place", "device": "Device", "alerts": "Alerts", "channel": "Channel",
        "severity": "Severity", "urgent": "Urgent", "claim": "Claim", "unclaim": "Give back",
        "reassign": "Reassign", "complete": "Complete", "filter": "Filter", "all": "All", "overdue": "Overdue",
        "due_soon": "Due soon", "mine": "Mine", "unclaimed": "Unclaimed", "no_tasks": "Nothing to do",
        "instructions": "Instructions", "form": "Form", "evidence": "Evidence", "history": "History",
        "next_step": "Next step", "case_closed": "The case has ended", "form_errors": "Please correct the form",
        "yes": "Yes", "no": "No", "choose": "Choose", "timeline": "Timeline", "diagram": "Process diagram",
        "deadline": "Deadline", "opened": "Opened", "closed": "Closed", "closed_count": "Closed", "rework": "Rework",
        "outcome": "Outcome",
        "completed": "Completed", "active": "Active", "new_case": "Report a case", "description": "Description",
        "submit": "Submit", "period": "Period", "from": "From", "to": "To", "export_csv": "Export CSV",
        "closure_rate": "Closure rate", "on_time_rate": "On-time closure rate", "rework_rate": "Rework rate",
        "avg_hours": "Average handling time (h)", "per_officer_day": "Cases per officer per day",
        "by_stage": "Cases by stage", "by_scenario": "Cases by scenario", "volume_channel": "Volume by channel",
        "volume_scenario": "Volume by scenario", "overdue_list": "Overdue cases", "users": "Users", "teams": "Teams",
        "roles": "Roles", "add_user": "Add user", "save": "Save", "active_user": "Active", "display_name": "Name",
        "new_tasks": "New tasks", "files": "Photos / files", "keep_files": "Uploaded", "case_started": "Case reported",
        "task_done": "Task completed", "claimed": "Claimed", "unclaimed_msg": "Given back", "reassigned": "Reassigned",
        "saved": "Saved", "refresh": "Refresh", "no_cases": "No cases", "view": "Open",
        "search": "Search", "search_hint": "case number, address, device id", "opened_from": "Opened from",
        "opened_to": "Opened to", "page_of": "Page {page} of {pages}, {total} cases", "previous": "Previous",
        "next_page": "Next", "search_refused": "The search cannot be used",
        "alerts_attached": "Attached alerts", "none": "None", "urgent_cases": "Urgent cases", "count": "Count",
        "lang": "中文", "team_tasks": "Team, unclaimed", "my_tasks": "Claimed by me", "reassign_to": "Reassign to",
        "back": "Back", "error": "Something went wrong", "not_found": "Not found, or not yours to see",
        "forbidden": "You may not do this",
        "designer": "Process designer",
        "designer_hint": "Deployed processes and their versions; a running case finishes on the version it started "
                         "on unless it is moved to a newer one.",
        "process": "Process", "version": "Version", "deployed_by": "Deployed by", "deployed_at": "Deployed at",
        "running": "Running instances", "newest": "newest", "still_in_use": "still in use",
        "deployment": "Deployment", "deployment_files": "Files", "compare": "Compare versions",
        "roll_back": "Roll back to this version",
        "roll_back_hint": "Deploys this version's files as a new version: new cases follow it, running ones stay "
                          "where they are.",
        "rolled_back": "Rolled back, new version", "already_current": "That version is already the newest; no new "
                                                                      "version",
        "no_changes": "The two versions have the same process elements", "layout_changed": "The layout changed",
        "added": "Added", "removed": "Removed", "changed": "Changed", "element": "Element", "what": "What",
        "edit": "Edit diagram", "based_on": "based on", "validate": "Validate", "deploy": "Deploy as new version",
        "valid": "Valid", "problems_found": "Problems found", "problems": "Problems",
        "migrate": "Move running cases", "migrate_to": "Move running cases to",
        "migrate_rule": "A case moves only when the new version changes nothing it has reached or passed (deadlines, "
                        "teams or new tasks after where it waits may change); otherwise it stays on its version "
                        "and the reason is listed.",
        "migrate_result": "Moving running cases", "migrated": "Moved", "migrate_refused": "Not moved",
        "nothing_to_migrate": "No case runs on this version any more", "instance": "Instance", "result": "Result",
        "reason": "Reason", "element_removed": "removed in the new version",
        "element_changed": "changed in the new version:",
        "state_READY": "ready", "state_WAITING": "waiting", "state_STARTED": "started", "state_COMPLETED": "completed",
        "state_CANCELLED": "cancelled", "state_ERROR": "failed",
        "attr_bpmn_name": "label", "attr_lane": "lane", "attr_extensions": "properties (deadline, team, form, stage...)",
        "attr_script": "script", "attr_outputs": "outgoing flows", "attr_inputs": "incoming flows",
        "attr_event_definition": "event definition", "attr_typename": "element type",
        "attr_documentation": "documentation", "attr_decision_table": "decision table",
        "attr_cond_task_specs": "branch conditions", "attr_default_task_spec": "default flow",
        "save_draft": "Save draft", "discard_draft": "Discard draft", "draft_saved": "Draft saved",
        "draft_open": "Editing your draft", "draft_saved_at": "saved at",
        "draft_behind": "The draft is based on an older version; the newest is", "drafts": "Drafts",
        "draft_author": "Editor", "properties": "Properties", "form_editor": "Form schema", "preview": "Preview",
        "failed_instances": "Cases stopped by a failed step",
        "failed_hint": "Cases parked when a timer, message or script failed: remove the cause (deploy a fixed diagram, "
                       "say) and retry, or cancel with a reason.",
        "failed_at": "Failed at", "failure": "Why", "retry": "Retry", "retried": "Retried",
        "retry_failed": "The retry failed again", "cancel_instance": "Cancel the case", "cancel_reason": "Reason",
        "cancel_needs_reason": "Cancelling a case needs a reason", "cancelled": "Cancelled",
        "new_diagram": "New diagram", "new_process_id": "new process id, e.g. playbook_noise",
        "new_process_invalid": "A process id is letters, digits, _ and -, not starting with a digit",
        "new_process_exists": "That process id exists already",
        "decisions": "Decision tables", "decision": "Decision",
        "decisions_hint": "DMN decisions and their versions: each change of a decision is a new version; the process versions using it are those deployed with it.",
        "used_by": "Process versions deployed with it", "edit_decision": "Edit decision table", "rules": "Rules",
        "hit_policy": "Hit policy", "inputs": "Inputs", "outputs": "Outputs", "decision_file": "Decision file",
        "lint": "Modelling checks (in the browser)",
    },
}
#: The designer's properties panel (webui/static/designer_panel.js), by language.
PANEL = {
    "zh": {"select": "选择一个元素查看和修改引擎读取的属性", "id": "编号", "name": "名称", "process": "流程",
           "executable": "可执行", "lane_team": "泳道团队（队伍代码）", "lane": "所在泳道", "team": "指派队伍（表达式）",
           "dueIn": "办理时限（表达式，如 \"PT30M\"）", "stage": "案件阶段", "none": "（无）",
           "formJsonSchemaFilename": "表单结构文件", "formUiSchemaFilename": "表单布局文件",
           "separateFrom": "回避（不得由完成这些任务的人办理）", "instructions": "操作说明",
           "condition": "条件（Python 表达式）", "default_flow": "默认路径（无条件）",
           "timer": "定时器", "timeDuration": "时长", "timeDate": "时间点", "timeCycle": "循环",
           "timer_expression": "定时表达式（如 \"PT4H\" 或变量名）", "message": "消息", "new_message": "新消息名称",
           "messageVariable": "消息内容存入变量", "messagePayload": "发送的消息内容（表达式）", "correlation": "关联属性（检索表达式）",
           "calledElement": "调用的流程", "script": "脚本（Python）", "preScript": "前置脚本", "postScript": "后置脚本",
           "calledDecisionId": "决策表", "edit_form": "编辑表单", "new_form": "新建表单",
           "edit_layout": "编辑表单布局", "new_layout": "新建表单布局",
           "problems_here": "此元素的问题", "interrupting": "中断任务"},
    "en": {"select": "Select an element to see and change what the engine reads", "id": "Id", "name": "Name",
           "process": "Process", "executable": "Executable", "lane_team": "Lane team (team code)", "lane": "Lane",
           "team": "Team (expression)", "dueIn": "Due in (expression, e.g. \"PT30M\")", "stage": "Case stage",
           "none": "(none)", "formJsonSchemaFilename": "Form schema file", "formUiSchemaFilename": "Form layout file",
           "separateFrom": "Separate from (four eyes: task ids)", "instructions": "Instructions",
           "condition": "Condition (Python expression)", "default_flow": "Default flow (no condition)",
           "timer": "Timer", "timeDuration": "Duration", "timeDate": "Date", "timeCycle": "Cycle",
           "timer_expression": "Timer expression (e.g. \"PT4H\" or a variable)", "message": "Message",
           "new_message": "New message name", "messageVariable": "Store the payload in variable",
           "messagePayload": "Payload sent (expression)",
           "correlation": "Correlation (retrieval expressions)", "calledElement": "Called process",
           "script": "Script (Python)", "preScript": "Pre-script", "postScript": "Post-script",
           "calledDecisionId": "Decision table", "edit_form": "Edit form", "new_form": "New form",
           "edit_layout": "Edit form layout", "new_layout": "New form layout",
           "problems_here": "Problems of this element", "interrupting": "Interrupting"},
}
STAGES = {
    "zh": {"discover": "发现", "register": "立案", "dispatch": "派单", "handle": "处置", "verify": "核查",
           "closed": "结案", "rejected": "不予立案", "evaluate": "评价", "cancelled": "已撤销"},
    "en": {s: s for s in ("discover", "register", "dispatch", "handle", "verify", "closed", "rejected", "evaluate",
                          "cancelled")},
}


@lru_cache(maxsize=1)
def catalogue() -> dict:
    """Scenario and team names from seed/teams.json, by code."""
    data = json.loads(SEED.read_text(encoding="utf-8")) if SEED.exists() else {}
    return {"scenarios": {s["code"]: s for s in data.get("scenarios", [])},
            "teams": {t["code"]: t for t in data.get("teams", [])},
            "channels": data.get("channels", ["sensor", "patrol", "hotline", "video", "resident"]),
            "severities": data.get("severities", ["low", "medium", "high", "critical"]),
            "lead_suffix": data.get("lead_suffix", ".lead"), "raw_teams": data.get("teams", [])}


def language() -> str:
    return g.get("lang") or "zh"


def t(key: str) -> str:
    return MESSAGES[language()].get(key, MESSAGES["en"].get(key, key))


def name_of(kind: str, code: str | None) -> str:
    """A scenario's, team's or stage's name in the current language."""
    if not code:
        return "-"
    if kind == "stage":
        return STAGES[language()].get(code, code)
    table = catalogue()["scenarios" if kind == "scenario" else "teams"]
    base = code.removesuffix(catalogue()["lead_suffix"])
    found = table.get(base)
    if not found:
        return code
    name = found["name_zh" if language() == "zh" else "name_en"]
    return name + (" · 组长" if language() == "zh" else " · lead") if base != code else name


def init_app(app) -> None:
    @app.before_request
    def pick_language():
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            session["lang"] = chosen
        g.lang = session.get("lang") or "zh"

    @app.template_filter("local")
    def local_time(value, fmt="%Y-%m-%d %H:%M"):
        """A UTC moment shown in the district's time (UTC+8)."""
        if not value:
            return "-"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(LOCAL).strftime(fmt)

    @app.context_processor
    def helpers():
        return {"t": t, "name_of": name_of, "lang": language(), "catalogue": catalogue()}
