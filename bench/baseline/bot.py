"""A plain python-telegram-bot v22 bot, written the way PTB's examples write one: the comparison.

A `ConversationHandler` keeps each user's state in RAM, `PicklePersistence` (with the examples'
defaults) writes it to one pickle file now and then. It shows the same menus as the real bot
(main, then testing and advice), reading their words from the same `flows/*.yaml`, and follows the
trigger words that lead into them. It is a yardstick for the benchmark, not a second bot to run.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.request import BaseRequest

# One conversation state per menu, as in PTB's conversationbot examples.
MAIN, TESTING, ADVICE = range(3)
STATES: Mapping[str, int] = {"main": MAIN, "testing": TESTING, "advice": ADVICE}
CONVERSATION = "menus"
BACK_DEPTH = 10


@dataclass(frozen=True, slots=True)
class MenuNode:
    """A menu or topic: its messages, its buttons (label, target node or None) and service links."""

    id: str
    say: tuple[str, ...]
    buttons: tuple[tuple[str, str | None], ...]
    cards: str = ""
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Menus:
    """Everything the baseline says, and the trigger words (highest priority first)."""

    nodes: Mapping[str, MenuNode]
    start: str
    menu: str
    triggers: tuple[tuple[re.Pattern[str], str], ...]


def _qualify(flow: str, target: str) -> str:
    return target if "." in target else f"{flow}.{target}"


def _cards(ids: list[str], services: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    cards, links = [], []
    for sid in ids:
        service = services[sid]
        lines = [f"<b>{html.escape(service['name'])}</b>", html.escape(service.get("for", ""))]
        lines += [html.escape(str(service[key])) for key in ("phone", "text", "hours") if service.get(key)]
        cards.append("\n".join(lines))
        if service.get("url"):
            links.append((str(service["name"]), str(service["url"])))
    return "\n\n".join(cards), tuple(links)


def load_menus(flows_dir: Path) -> Menus:
    """Read the three menu flows, services, messages and triggers from YAML."""

    def read(name: str) -> Any:
        return yaml.safe_load((flows_dir / name).read_text(encoding="utf-8"))

    settings, messages, services = read("settings.yaml"), read("messages.yaml"), read("services.yaml")["services"]
    nodes: dict[str, MenuNode] = {}
    for flow in STATES:
        for name, raw in read(f"{flow}.yaml")["nodes"].items():
            node_id = f"{flow}.{name}"
            say = raw.get("say", "")
            buttons = [
                (str(c["label"]), _qualify(flow, c["goto"]) if "goto" in c else None) for c in raw.get("choices") or []
            ]
            if raw.get("next"):
                buttons.append((str(raw.get("next_label") or messages["button_next"]), _qualify(flow, raw["next"])))
            if not buttons:
                buttons.append((str(messages["button_menu"]), settings["menu"]))
            cards, links = _cards(raw.get("services") or [], services)
            parts = tuple(html.escape(str(s).strip()) for s in (say if isinstance(say, list) else [say]))
            nodes[node_id] = MenuNode(node_id, parts, tuple(buttons), cards, links)
    triggers = []
    for trigger in sorted(read("triggers.yaml")["triggers"], key=lambda t: -int(t["priority"])):
        words = (trigger.get("keywords") or {}).get("en") or []
        if trigger.get("goto") in nodes and words:
            pattern = re.compile(r"\b(?:" + "|".join(re.escape(str(w)) for w in words) + r")\b", re.IGNORECASE)
            triggers.append((pattern, str(trigger["goto"])))
    return Menus(nodes, settings["start"], settings["menu"], tuple(triggers))


@dataclass
class BaselineBot:
    """The handlers; the conversation state they return is what ConversationHandler keeps."""

    menus: Menus

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        context.user_data["back"] = []  # type: ignore[index]
        context.user_data.pop("node", None)  # type: ignore[union-attr]
        return await self.show(update, context, self.menus.start)

    async def press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query = update.callback_query
        assert query is not None
        await query.answer()
        node_id, _, index = (query.data or "").rpartition("|")
        node = self.menus.nodes.get(node_id)
        target = node.buttons[int(index)][1] if node and index.isdigit() and int(index) < len(node.buttons) else None
        return await self.show(update, context, target or self.menus.menu)

    async def typed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        text = update.message.text if update.message and update.message.text else ""
        for pattern, target in self.menus.triggers:
            if pattern.search(text):
                return await self.show(update, context, target)
        return await self.show(update, context, context.user_data.get("node") or self.menus.menu)  # type: ignore[union-attr]

    async def back(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        back = context.user_data.setdefault("back", [])  # type: ignore[union-attr]
        target = back.pop() if back else self.menus.menu
        return await self.show(update, context, target, remember=False)

    async def show(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, node_id: str, remember: bool = True
    ) -> int:
        """Send a node's messages, the last with its buttons, and return its menu's state."""
        node = self.menus.nodes.get(node_id) or self.menus.nodes[self.menus.menu]
        data = context.user_data
        assert data is not None and update.effective_chat is not None
        previous = data.get("node")
        if remember and previous and previous != node.id:
            data["back"] = [*data.get("back", []), previous][-BACK_DEPTH:]
        data["node"] = node.id
        rows = [[InlineKeyboardButton(label, url=url)] for label, url in node.links]
        rows += [
            [InlineKeyboardButton(label, callback_data=f"{node.id}|{i}")] for i, (label, _) in enumerate(node.buttons)
        ]
        texts = [*node.say, node.cards] if node.cards else list(node.say)
        chat_id = update.effective_chat.id
        for text in texts[:-1]:
            await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
        await context.bot.send_message(
            chat_id, texts[-1], parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup(rows)
        )
        return STATES[node.id.split(".", 1)[0]]


def build_application(
    menus: Menus,
    token: str,
    persistence_path: Path,
    base_url: str = "https://api.telegram.org/bot",
    request: BaseRequest | None = None,
    update_interval: float = 60,
) -> Application:
    """The Application as the examples build it: persistence, one persistent ConversationHandler.

    `update_interval` is PTB's default (60 s); only the benchmark's smoke run shortens it.
    """
    persistence = PicklePersistence(filepath=persistence_path, update_interval=update_interval)
    builder = Application.builder().token(token).base_url(base_url).persistence(persistence)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    bot = BaselineBot(menus)
    typed = MessageHandler(filters.TEXT & ~filters.COMMAND, bot.typed)
    application.add_handler(
        ConversationHandler(
            entry_points=[
                CommandHandler("start", bot.start),
                MessageHandler(filters.TEXT & ~filters.COMMAND, bot.start),
            ],
            states={state: [CallbackQueryHandler(bot.press, pattern=rf"^{flow}\.")] for flow, state in STATES.items()},
            fallbacks=[CommandHandler("start", bot.start), CommandHandler("back", bot.back), typed],
            name=CONVERSATION,
            persistent=True,
        )
    )
    return application
