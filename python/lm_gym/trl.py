"""Environments for TRL's ``GRPOTrainer(environment_factory=...)``: one class per env id.

TRL builds each environment with no arguments, calls ``reset(**row)`` with every column of a
dataset row, turns every public method of the class into a tool (type hints and Google-style
docstrings become the tool's JSON schema) and scores a finished rollout with ``get_reward()``.
So each class here has exactly one public method per verb of its env (Wordle's ``guess``, the
maze's ``move``, Text-Nav's ``go``, ``take``, ``open``...), besides ``reset`` and
``get_reward``. A tool call composes the exact action text the env's parser reads, steps the
env and returns the env's reply. Everything else (the transcript, the step records, the return
so far) is reachable through properties and underscored names, which TRL never exposes.

- ``reset(seed=..., config=..., episode=..., **other_columns)``: the row's ``seed`` starts
  episode 0 of a scenario run with that seed (as ``lm_gym.make(env_id).reset(seed=seed)``
  does; the optional ``episode`` column picks a later episode of that run), so every rollout of
  a GRPO group plays the same episode; ``config`` (RON text, optional) replaces the class's
  config; other columns (``prompt``, ``environment``, ...) are ignored. It returns the env's
  opening prompt, which TRL appends to the row's last user message.
- A tool call after the episode ended raises :class:`EpisodeOver`; TRL hands its text to the
  model. An action the env cannot understand is the env's business: the tool returns the env's
  refusal and the env applies its own penalty, exactly as for text actions.
- ``get_reward()`` is the sum of the rewards of the episode's steps (the episode return).

:func:`prompt_dataset` builds matching rows (``prompt``, ``seed``, ``environment``) and
:func:`environment_factories` the ``{name: class}`` form of ``environment_factory``.
"""

from __future__ import annotations

from typing import Any, Iterable, Literal

from lm_gym.config import to_ron
from lm_gym.env import TextEnv

__all__ = [
    "CLASSES",
    "EpisodeOver",
    "LmGymEnvironment",
    "environment_class",
    "environment_factories",
    "environment_factory",
    "prompt_dataset",
    "tool_names",
    # the env classes
    "CarDealer",
    "Chess",
    "ChessEndgames",
    "ConvRec",
    "DataTeacher",
    "GuessMyCity",
    "MazeFO",
    "MazePO",
    "RecoFeed",
    "RobotCorrection",
    "RobotMemory",
    "SearchFeedback",
    "SearchStagewise",
    "TextNavFO",
    "TextNavPO",
    "ToolFeedback",
    "TwentyQuestions",
    "Wordle",
]

#: Added to the reply of the step that ends the episode, so the model knows to stop calling tools.
EPISODE_OVER_NOTE = "The episode is over: stop calling tools."


class EpisodeOver(RuntimeError):
    """A tool was called after the episode ended (TRL returns this text to the model)."""


def _text(value: Any) -> str:
    """An argument as text: strings as they are, a list or tuple (a model may send one) joined by
    spaces, anything else through ``str`` (``None`` is empty)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(_text(item) for item in value)
    return value if isinstance(value, str) else str(value)


def _joined(values: Any, separator: str) -> str:
    """A list argument joined by ``separator``; a string (a model may send one) is kept as it is."""
    if values is None:
        return ""
    if isinstance(values, (str, bytes)):
        return _text(values)
    try:
        return separator.join(_text(value) for value in values)
    except TypeError:
        return _text(values)


def _config_text(config: Any) -> str | None:
    if config is None or isinstance(config, str):
        return config or None
    if isinstance(config, dict):
        return to_ron(config)
    raise TypeError(f"config must be RON text or a dict of fields, got {type(config).__name__}")


class LmGymEnvironment:
    """The shared machinery of the TRL environments: one env, one episode at a time.

    Subclasses set ``env_id`` and define one tool method per verb, each calling ``self._act``.
    Class attributes (none is a function, so none becomes a tool):

    - ``env_id``: the engine's env id.
    - ``default_config``: RON text used when a row has no ``config`` (``None``: the env's default).
    - ``unfinished_reward``: what ``get_reward`` returns for an episode that has not ended when the
      rollout stops (the model stopped calling tools, or TRL's length or tool-call limit cut it).
      ``"min"`` (the default): the env's ``score_anchors["min"]``, the low reference score, so
      stopping early never pays (in Wordle, the mazes, Twenty Questions... every action costs, and
      the rewards collected so far would reward doing nothing); the collected rewards for an env
      without anchors. ``None``: the rewards collected so far. A number: that number.
    """

    env_id: str = ""
    default_config: str | None = None
    unfinished_reward: float | str | None = "min"
    #: One sentence that maps the env's text commands onto the tools (used in the dataset's prompt).
    tool_hint: str = ""

    def __init__(self) -> None:
        self._envs: dict[str | None, TextEnv] = {}
        self._env: TextEnv | None = None
        self._seed: int | None = None
        self._config: str | None = None
        self._prompt: str | None = None
        self._steps: list[dict[str, Any]] = []
        self._return = 0.0
        self._finished = False
        self._truncated = False

    # --- TRL's two special methods -------------------------------------------------------------

    def reset(
        self,
        seed: int | None = None,
        config: str | dict | None = None,
        episode: int | None = None,
        **columns: Any,
    ) -> str:
        """Starts the episode of ``seed`` and returns the env's opening prompt.

        That is episode ``episode`` (default 0) of a scenario run with that seed, byte for byte
        what ``scenarios <name> --seed <seed>`` plays as that episode. ``config`` (RON text or a
        dict of fields) replaces the class's ``default_config``. Other dataset columns
        (``prompt``, ``environment``, ...) are ignored.
        """
        text = _config_text(config) if config is not None else self.default_config
        env = self._envs.get(text)
        if env is None:
            env = TextEnv(self.env_id, config=text)
            self._check_config(env)
            self._envs[text] = env
        self._env = env
        self._seed = None if seed is None else int(seed)
        self._config = text
        self._prompt, _ = env.reset(seed=self._seed)
        for _ in range(int(episode or 0)):
            self._prompt, _ = env.reset()
        self._steps = []
        self._return = 0.0
        self._finished = False
        self._truncated = False
        self._on_reset()
        return self._prompt

    def get_reward(self) -> float:
        """The episode return: the sum of the rewards of its steps (see ``unfinished_reward``)."""
        if self._finished or self.unfinished_reward is None:
            return float(self._return)
        if self.unfinished_reward == "min":
            anchors = self._env.env_spec.get("score_anchors") if self._env is not None else None
            return float(anchors["min"]) if anchors else float(self._return)
        return float(self.unfinished_reward)

    # --- what a trainer or a log may read (properties are never tools) ---------------------------

    @property
    def env(self) -> TextEnv | None:
        """The Gymnasium env playing the current episode."""
        return self._env

    @property
    def seed(self) -> int | None:
        return self._seed

    @property
    def prompt(self) -> str | None:
        """The env's opening prompt of the current episode (what ``reset`` returned)."""
        return self._prompt

    @property
    def finished(self) -> bool:
        """Whether the episode has ended (terminated or truncated)."""
        return self._finished

    @property
    def truncated(self) -> bool:
        return self._truncated

    @property
    def episode_return(self) -> float:
        """The sum of the rewards so far."""
        return self._return

    @property
    def steps(self) -> list[dict[str, Any]]:
        """One record per env step: ``tool``, ``arguments``, ``action`` (the text sent to the env),
        ``observation``, ``reward``, ``terminated``, ``truncated`` and ``info``."""
        return list(self._steps)

    @property
    def transcript(self) -> list[dict[str, str]]:
        """The episode's transcript, ``{"speaker", "kind", "text"}`` entries as in ``trajectories.jsonl``."""
        return self._env.transcript() if self._env is not None else []

    # --- helpers (underscored: TRL never turns them into tools) ---------------------------------

    def _check_config(self, env: TextEnv) -> None:
        """Rejects a config the class's tools cannot play (overridden where that can happen)."""

    def _on_reset(self) -> None:
        """Clears per-episode state of a subclass."""

    def _ensure_playing(self) -> TextEnv:
        if self._env is None:
            raise RuntimeError(f"no episode yet: call reset(seed=...) on the {type(self).__name__} environment first")
        if self._finished:
            how = "the turn limit was reached" if self._truncated else "it ended"
            raise EpisodeOver(
                f"the episode is over ({how} after {len(self._steps)} actions); no further actions are "
                "accepted, so stop calling tools"
            )
        return self._env

    def _act(self, tool: str, arguments: dict[str, Any], action: str) -> str:
        """Sends one action text to the env and returns its reply."""
        env = self._ensure_playing()
        observation, reward, terminated, truncated, info = env.step(action)
        self._return += reward
        self._steps.append(
            {
                "tool": tool,
                "arguments": arguments,
                "action": action,
                "observation": observation,
                "reward": reward,
                "terminated": terminated,
                "truncated": truncated,
                "info": info,
            }
        )
        if terminated or truncated:
            self._finished = True
            self._truncated = truncated and not terminated
            return f"{observation}\n\n{EPISODE_OVER_NOTE}"
        return observation


# --- LMRL-Gym tasks ---------------------------------------------------------------------------


class TwentyQuestions(LmGymEnvironment):
    """``twenty_questions-v0``: find the hidden everyday object with yes/no questions."""

    env_id = "twenty_questions-v0"
    tool_hint = (
        'Ask a yes/no question with ask(question="Is it alive?"); name the object with '
        'guess(name="dog"), which asks "Is it a dog?".'
    )

    def ask(self, question: str) -> str:
        """Ask one yes/no question about the hidden object.

        Args:
            question: One yes/no question, e.g. "Is it an animal?" or "Can you hold it in one hand?".

        Returns:
            The answer ("Yes." or "No."), or why the question was not accepted.
        """
        return self._act("ask", {"question": question}, _text(question))

    def guess(self, name: str) -> str:
        """Name the object you think it is (asks "Is it a <name>?").

        Args:
            name: The object's name, e.g. "dog" or "frying pan".

        Returns:
            "Yes." when it is the object (you win), else "No.".
        """
        name = _text(name).strip()
        article = "an" if name[:1].lower() in ("a", "e", "i", "o", "u") else "a"
        return self._act("guess", {"name": name}, f"Is it {article} {name}?")


class GuessMyCity(LmGymEnvironment):
    """``guess_my_city-v0``: find the hidden world city with open or yes/no questions."""

    env_id = "guess_my_city-v0"
    tool_hint = (
        'Ask any question with ask(question="What is the weather like?"); name the city with '
        'guess(city="Lima"), which asks "Is it Lima?".'
    )

    def ask(self, question: str) -> str:
        """Ask one question about the hidden city, open ("What is the food like?") or yes/no ("Is it on the coast?").

        Args:
            question: One question about the city.

        Returns:
            The answer: "Yes.", "No." or a short sentence.
        """
        return self._act("ask", {"question": question}, _text(question))

    def guess(self, city: str) -> str:
        """Name the city you think it is (asks "Is it <city>?").

        Args:
            city: The city's name, e.g. "Lima".

        Returns:
            "Yes! You guessed my city." when right, else "No.".
        """
        city = _text(city).strip()
        return self._act("guess", {"city": city}, f"Is it {city}?")


class Wordle(LmGymEnvironment):
    """``wordle-v0``: find the secret five-letter word in six guesses."""

    env_id = "wordle-v0"
    tool_hint = 'Each try is guess(word="crane").'

    def guess(self, word: str) -> str:
        """Guess the secret word (uses one of your tries).

        Args:
            word: A five-letter English word in lowercase, e.g. "crane".

        Returns:
            One mark per letter separated by spaces (g: right spot, y: in the word elsewhere, b: not in the word), or why the guess was refused.
        """
        return self._act("guess", {"word": word}, _text(word))


class _Maze(LmGymEnvironment):
    tool_hint = '`move up` is move(direction="up"), and so on for down, left and right.'

    def move(self, direction: Literal["up", "down", "left", "right"]) -> str:
        """Move one cell in the maze.

        Args:
            direction: Where to move: up, down, left or right.

        Returns:
            What you see after the move (walls around you; in the fully observed maze also your position).
        """
        return self._act("move", {"direction": direction}, f"move {_text(direction)}")


class MazeFO(_Maze):
    """``maze-fo-v0``: reach the goal of the double-T maze; the observation gives the position."""

    env_id = "maze-fo-v0"


class MazePO(_Maze):
    """``maze-po-v0``: reach the goal of the double-T maze seeing only the walls around you."""

    env_id = "maze-po-v0"


class _TextNav(LmGymEnvironment):
    tool_hint = (
        'Each admissible command is one tool call: `go east` is go(direction="east"), '
        '`take stale food from table` is take(item="stale food", source="table"), `drop X` is '
        'drop(item="X"), `put X on table` is put(item="X"), `insert X into fridge` is '
        'insert(item="X", container="fridge"), `eat X` is eat(item="X"), `open fridge` is '
        'open(container="fridge") and `close fridge` is close(container="fridge").'
    )

    def go(self, direction: Literal["north", "south", "east", "west"]) -> str:
        """Walk through a doorway to the next room.

        Args:
            direction: The exit to take: north, south, east or west.

        Returns:
            What happened, then the description of where you are and the admissible commands.
        """
        return self._act("go", {"direction": direction}, f"go {_text(direction)}")

    def take(self, item: str, source: Literal["table", "chest", "fridge"] | None = None) -> str:
        """Pick up an object, from the floor or from the table, chest or fridge.

        Args:
            item: The object, e.g. "stale food".
            source: Where it is: "table", "chest" or "fridge" (an open one); leave it out for the floor.

        Returns:
            What happened, then the description of where you are and the admissible commands.
        """
        action = f"take {_text(item)}" if not source else f"take {_text(item)} from {_text(source)}"
        return self._act("take", {"item": item, "source": source}, action)

    def drop(self, item: str) -> str:
        """Drop a carried object on the floor.

        Args:
            item: The object, e.g. "stale food".

        Returns:
            What happened, then the description of where you are and the admissible commands.
        """
        return self._act("drop", {"item": item}, f"drop {_text(item)}")

    def put(self, item: str) -> str:
        """Put a carried object on the table of this room.

        Args:
            item: The object, e.g. "plate".

        Returns:
            What happened, then the description of where you are and the admissible commands.
        """
        return self._act("put", {"item": item}, f"put {_text(item)} on table")

    def insert(self, item: str, container: Literal["chest", "fridge"]) -> str:
        """Put a carried object into an open container.

        Args:
            item: The object, e.g. "stale food".
            container: The open container: "chest" or "fridge".

        Returns:
            What happened, then the description of where you are and the admissible commands.
        """
        action = f"insert {_text(item)} into {_text(container)}"
        return self._act("insert", {"item": item, "container": container}, action)

    def eat(self, item: str) -> str:
        """Eat an edible object.

        Args:
            item: The object, e.g. "fruit".

        Returns:
            What happened, then the description of where you are and the admissible commands.
        """
        return self._act("eat", {"item": item}, f"eat {_text(item)}")

    def open(self, container: Literal["chest", "fridge"]) -> str:
        """Open a container in this room.

        Args:
            container: "chest" or "fridge".

        Returns:
            What happened, then the description of where you are and the admissible commands.
        """
        return self._act("open", {"container": container}, f"open {_text(container)}")

    def close(self, container: Literal["chest", "fridge"]) -> str:
        """Close a container in this room.

        Args:
            container: "chest" or "fridge".

        Returns:
            What happened, then the description of where you are and the admissible commands.
        """
        return self._act("close", {"container": container}, f"close {_text(container)}")


class TextNavFO(_TextNav):
    """``text_nav-fo-v0``: put the stale food in the fridge; the room and inventory are shown."""

    env_id = "text_nav-fo-v0"


class TextNavPO(_TextNav):
    """``text_nav-po-v0``: put the stale food in the fridge; no room names, no inventory."""

    env_id = "text_nav-po-v0"


class _Chess(LmGymEnvironment):
    tool_hint = 'Each move is move(notation="e4"), in SAN (e4, Nf3, O-O, e8=Q) or UCI (e2e4).'

    def move(self, notation: str) -> str:
        """Play one move as White; Black replies at once.

        Args:
            notation: One legal move in SAN (e.g. "e4", "Nf3", "exd5", "O-O", "e8=Q") or UCI (e.g. "e2e4").

        Returns:
            Your move and Black's reply (and how the game ended, if it did), then the board as a FEN line; or why the move was rejected.
        """
        return self._act("move", {"notation": notation}, _text(notation))


class Chess(_Chess):
    """``chess-v0``: a full game as White against a fixed-depth engine."""

    env_id = "chess-v0"


class ChessEndgames(_Chess):
    """``chess_endgames-v0``: mate a lone king with K+Q, K+R, K+Q+R or K+R+R."""

    env_id = "chess_endgames-v0"


def _price_text(price: Any) -> str:
    if isinstance(price, bool) or not isinstance(price, (int, float)):
        return f"${_text(price).strip()}"
    return f"${round(price):,}"


class CarDealer(LmGymEnvironment):
    """``car_dealer-v0``: sell a car to a buyer with a hidden persona (you are the seller)."""

    env_id = "car_dealer-v0"
    tool_hint = (
        "Say each line to the buyer with say(message=...); offer(price=30000) makes a price offer, "
        "optionally after a message of your own."
    )

    def say(self, message: str) -> str:
        """Say one line to the buyer (questions, a pitch, prices in any usual form, agreement).

        Args:
            message: Your line, e.g. "What are you looking for today?".

        Returns:
            The buyer's reply; its last reply ends with its decision ("Output: Decision=Accept ..." or "Decision=Reject").
        """
        return self._act("say", {"message": message}, _text(message))

    def offer(self, price: int, message: str | None = None) -> str:
        """Offer the car under discussion at a price, as one line to the buyer.

        Args:
            price: The price in dollars, e.g. 28500.
            message: Optional words before the offer, e.g. "It has every feature you asked for."

        Returns:
            The buyer's reply: a counter-offer, an acceptance or its decision.
        """
        offer = f"I can offer it to you for {_price_text(price)}."
        action = f"{_text(message).strip()} {offer}" if _text(message).strip() else offer
        return self._act("offer", {"price": price, "message": message}, action)


# --- feedback envs ------------------------------------------------------------------------------


class ToolFeedback(LmGymEnvironment):
    """``tool_feedback-v0``: solve a task with the env's tool language; a teacher gives feedback."""

    env_id = "tool_feedback-v0"
    tool_hint = (
        "An <execute>...</execute> block is execute(code=...) and a <solution>...</solution> block "
        "is propose_solution(answer=...)."
    )

    def execute(self, code: str) -> str:
        """Run code in the env's tool language (lookup, calc, run); the session keeps its variables.

        Args:
            code: Statements separated by new lines or ";", e.g. 'town = lookup("Dorsuv", "headquarters")'.

        Returns:
            The value of every statement (or the error), the budget left and the teacher's feedback.
        """
        return self._act("execute", {"code": code}, f"<execute>{_text(code)}</execute>")

    def propose_solution(self, answer: str) -> str:
        """Propose your solution (uses one of your proposals).

        Args:
            answer: The answer: one whole number for an arithmetic task, a pipeline such as "sort | take(3)" for a list task.

        Returns:
            Whether it is correct, the budget left and the teacher's feedback.
        """
        return self._act("propose_solution", {"answer": answer}, f"<solution>{_text(answer)}</solution>")


def _stagewise(env: TextEnv) -> bool:
    return "stagewise:true" in env.config_ron.replace(" ", "")


class SearchFeedback(LmGymEnvironment):
    """``search_feedback-v0``: find the documents for a user's hidden need; the user gives feedback."""

    env_id = "search_feedback-v0"
    tool_hint = (
        "`search <query>` is search(query=...), `ask_clarify <question>` is "
        'ask_clarifying_question(question=...) and `answer d1,d2,d3 [summary]` is '
        'answer(documents=["d1", "d2", "d3"], summary=...).'
    )

    def _check_config(self, env: TextEnv) -> None:
        if _stagewise(env):
            raise ValueError(
                "this config turns on the stage-wise mode (stagewise: true), whose actions differ: "
                "use lm_gym.trl.SearchStagewise"
            )

    def search(self, query: str) -> str:
        """Search the document collection (BM25); a few searches per round.

        Args:
            query: The search words, e.g. "jaguar car price".

        Returns:
            The top 10 results (rank, [id], title, first words) and the budget left.
        """
        return self._act("search", {"query": query}, f"search {_text(query)}")

    def ask_clarifying_question(self, question: str) -> str:
        """Ask the user a clarifying question about what they need (one per round).

        Args:
            question: The question, e.g. "Do you mean the cat or the car?".

        Returns:
            The user's answer and the budget left.
        """
        return self._act("ask_clarifying_question", {"question": question}, f"ask_clarify {_text(question)}")

    def answer(self, documents: list[str], summary: str | None = None) -> str:
        """Present your best documents, best first; this ends the round and the user judges them.

        Args:
            documents: 1 to 3 distinct document ids from the results, best first, e.g. ["d12", "d7", "d301"].
            summary: Optional words after the ids.

        Returns:
            The user's verdict or feedback, and the next round's budget.
        """
        action = f"answer {_joined(documents, ',')}"
        if _text(summary).strip():
            action += f" {_text(summary).strip()}"
        return self._act("answer", {"documents": documents, "summary": summary}, action)


class SearchStagewise(LmGymEnvironment):
    """``search_feedback-v0`` with ``stagewise: true`` (NExT-Search): plan the sub-needs, then answer per sub-need."""

    env_id = "search_feedback-v0"
    default_config = "(stagewise: true)"
    tool_hint = (
        '`plan a; b` is plan(parts=["a", "b"]), `search <query>` is search(query=...) and '
        '`answer d1,d2 | d3` is answer(groups=[["d1", "d2"], ["d3"]]).'
    )

    def _check_config(self, env: TextEnv) -> None:
        if not _stagewise(env):
            raise ValueError(
                "SearchStagewise plays the stage-wise mode: its config must set stagewise: true "
                "(use lm_gym.trl.SearchFeedback for the default mode)"
            )

    def plan(self, parts: list[str]) -> str:
        """State your plan: the parts (sub-needs) of the user's need, in order; the user critiques it.

        Args:
            parts: 1 to 6 short parts, e.g. ["price", "care for beginners"].

        Returns:
            The user's critique of each part and whether the plan covers the need.
        """
        return self._act("plan", {"parts": parts}, f"plan {_joined(parts, '; ')}")

    def search(self, query: str) -> str:
        """Search the document collection (BM25).

        Args:
            query: The search words, e.g. "mustang price".

        Returns:
            The top 10 results (rank, [id], title, first words) and the budget left.
        """
        return self._act("search", {"query": query}, f"search {_text(query)}")

    def answer(self, groups: list[list[str]]) -> str:
        """Present documents for every part of your plan: one group of 1 to 3 ids per part, in plan order.

        Args:
            groups: One list of document ids per plan part, e.g. [["d8", "d742"], ["d690"]].

        Returns:
            The user's critique per part, or thanks when every part is answered.
        """
        if isinstance(groups, (str, bytes)):
            body = _text(groups)
        else:
            body = " | ".join(_joined(group, ",") for group in (groups or []))
        return self._act("answer", {"groups": groups}, f"answer {body}")


class DataTeacher(LmGymEnvironment):
    """``data_teacher-v0``: write training data for a student with hidden mastery.

    One env action is a batch of lines. ``gen``, ``item``, ``explore`` and ``exploit`` each add
    a line to the pending batch (nothing is sent); ``submit`` sends the batch as one action and
    ``end_iteration`` sends it with ``end_iteration`` as its last line (train and re-evaluate).
    """

    env_id = "data_teacher-v0"
    tool_hint = (
        "An action is a batch of lines: gen(...), item(...), explore(...) and exploit(...) each add "
        "one line to the batch; submit() sends the batch as one action, and end_iteration() sends it "
        "with end_iteration as its last line."
    )

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[str] = []

    def _on_reset(self) -> None:
        self._pending = []

    @property
    def pending(self) -> list[str]:
        """The lines added since the last ``submit`` or ``end_iteration``."""
        return list(self._pending)

    def _add(self, line: str) -> str:
        self._ensure_playing()
        self._pending.append(line)
        count = len(self._pending)
        return (
            f"Added to the pending action ({count} line{'s' if count != 1 else ''}): {line}\n"
            "Nothing is sent until you call submit() or end_iteration()."
        )

    def _send(self, tool: str, lines: list[str]) -> str:
        self._ensure_playing()
        self._pending = []
        return self._act(tool, {"lines": lines}, "\n".join(lines))

    def gen(self, subskill: str, n: int, difficulty: int = 2) -> str:
        """Add a line that generates items with the env's generator (sent with the batch).

        Args:
            subskill: The subskill, e.g. "add_carry".
            n: How many items, 1 to 200.
            difficulty: 1, 2 or 3.

        Returns:
            The pending batch so far.
        """
        return self._add(f"gen {_text(subskill)} n={_text(n)} difficulty={_text(difficulty)}")

    def item(self, subskill: str, question: str, answer: str) -> str:
        """Add a line with one item you write yourself, used as written (sent with the batch).

        Args:
            subskill: The subskill it trains, e.g. "add_carry".
            question: The question, in the subskill's form, e.g. "What is 47 + 38?".
            answer: The answer, e.g. "85".

        Returns:
            The pending batch so far.
        """
        return self._add(f'item {_text(subskill)} q="{_text(question)}" a="{_text(answer)}"')

    def explore(self, skill: str, each: int | None = None) -> str:
        """Skill tree only: add a line that reveals the next subskill of a skill (sent with the batch).

        Args:
            skill: The skill: arithmetic, units, strings or number_sense.
            each: Optional number of items (0 to 200) to generate for the revealed subskill.

        Returns:
            The pending batch so far.
        """
        line = f"explore {_text(skill)}" if each is None else f"explore {_text(skill)} each={_text(each)}"
        return self._add(line)

    def exploit(self, subskill: str, n: int) -> str:
        """Skill tree only: add a line that generates n more items of an explored subskill (sent with the batch).

        Args:
            subskill: The explored subskill, e.g. "parity".
            n: How many items, 1 to 200.

        Returns:
            The pending batch so far.
        """
        return self._add(f"exploit {_text(subskill)} +{_text(n)}")

    def submit(self) -> str:
        """Send the pending lines as one action, without ending the iteration.

        Returns:
            The env's report on every line and the student's validation accuracy.
        """
        return self._send("submit", list(self._pending))

    def end_iteration(self) -> str:
        """Send the pending lines with end_iteration as the last line: the student trains on all data so far and is re-evaluated.

        Returns:
            The env's report, the change in validation accuracy and (after the last iteration) the final test metrics.
        """
        return self._send("end_iteration", [*self._pending, "end_iteration"])


class RecoFeed(LmGymEnvironment):
    """``reco_feed-v0``: recommend slates of short videos to a simulated user."""

    env_id = "reco_feed-v0"
    tool_hint = '`recommend i1, i2, ...` is recommend(items=["i1", "i2", ...]).'

    def recommend(self, items: list[str]) -> str:
        """Serve the next slate: exactly the slate size of distinct ids from the current candidates.

        Args:
            items: The ids in slate order, e.g. ["i417", "i1524", "i275", "i1132", "i785"].

        Returns:
            The user's reactions to each item, anything the user says, and the next candidates.
        """
        return self._act("recommend", {"items": items}, f"recommend {_joined(items, ', ')}")


class ConvRec(LmGymEnvironment):
    """``conv_rec-v0``: find the user's hidden target item by asking about attributes or recommending."""

    env_id = "conv_rec-v0"
    tool_hint = (
        '`ask <attribute>` is ask(attribute=...), `ask_group <parent>` is ask_group(parent=...) and '
        '`recommend v1, v2, ...` is recommend(items=["v1", "v2", ...]).'
    )

    def ask(self, attribute: str) -> str:
        """Ask whether the user wants an attribute.

        Args:
            attribute: One attribute as parent/value, e.g. "mood/amber".

        Returns:
            The user's answer and the number of candidate items left.
        """
        return self._act("ask", {"attribute": attribute}, f"ask {_text(attribute)}")

    def ask_group(self, parent: str) -> str:
        """Ask which values of a parent attribute the user wants.

        Args:
            parent: The parent attribute, e.g. "cuisine" or "price".

        Returns:
            The values the user wants (or none) and the number of candidate items left.
        """
        return self._act("ask_group", {"parent": parent}, f"ask_group {_text(parent)}")

    def recommend(self, items: list[str]) -> str:
        """Recommend up to 10 distinct items.

        Args:
            items: Item ids, e.g. ["v3", "v17", "v250"].

        Returns:
            Whether the target is among them, and the number of candidate items left.
        """
        return self._act("recommend", {"items": items}, f"recommend {_joined(items, ', ')}")


def _offset_text(right_cm: Any, forward_cm: Any) -> str:
    """``left 2 cm forward 4 cm`` from signed offsets (the robot's own rendering of an aim offset)."""
    text = ""
    for value, negative, positive in ((right_cm, "left", "right"), (forward_cm, "back", "forward")):
        if value is None or value == 0:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            word = negative if value < 0 else positive
            amount = abs(value)
            amount = int(amount) if float(amount).is_integer() else amount
            text += f" {word} {amount} cm"
        else:
            text += f" {positive} {_text(value)} cm"
    return text


class _Robot(LmGymEnvironment):
    tool_hint = (
        '`pick red mug left 2 cm` is pick(item="red mug", right_cm=-2), `place mug in bin` is '
        'place(item="mug", fixture="bin"), `open top drawer` is open(fixture="top drawer"), '
        '`move left 2 cm` is move(direction="left", cm=2); release() and done() take no arguments.'
    )

    def pick(self, item: str, right_cm: int = 0, forward_cm: int = 0) -> str:
        """Grasp an object, optionally aiming off its position.

        Args:
            item: The object by colour and type ("red mug"), or by type when only one has it ("mug").
            right_cm: Aim this many cm to the right of the object (negative: to the left), -20 to 20.
            forward_cm: Aim this many cm forward of the object (negative: back), -20 to 20.

        Returns:
            What happened, any words of the human, and the scene.
        """
        action = f"pick {_text(item)}{_offset_text(right_cm, forward_cm)}"
        return self._act("pick", {"item": item, "right_cm": right_cm, "forward_cm": forward_cm}, action)

    def place(
        self,
        item: str,
        fixture: Literal["bin", "top drawer", "bottom drawer", "shelf"],
        right_cm: int = 0,
        forward_cm: int = 0,
    ) -> str:
        """Set the held object down in or on a fixture, optionally aiming off its centre.

        Args:
            item: The held object, e.g. "red mug".
            fixture: Where: "bin", "top drawer", "bottom drawer" or "shelf".
            right_cm: Aim this many cm to the right (negative: to the left), -20 to 20.
            forward_cm: Aim this many cm forward (negative: back), -20 to 20.

        Returns:
            What happened, any words of the human, and the scene.
        """
        action = f"place {_text(item)} in {_text(fixture)}{_offset_text(right_cm, forward_cm)}"
        arguments = {"item": item, "fixture": fixture, "right_cm": right_cm, "forward_cm": forward_cm}
        return self._act("place", arguments, action)

    def open(self, fixture: Literal["top drawer", "bottom drawer"]) -> str:
        """Open a drawer.

        Args:
            fixture: "top drawer" or "bottom drawer".

        Returns:
            What happened, any words of the human, and the scene.
        """
        return self._act("open", {"fixture": fixture}, f"open {_text(fixture)}")

    def close(self, fixture: Literal["top drawer", "bottom drawer"]) -> str:
        """Close a drawer.

        Args:
            fixture: "top drawer" or "bottom drawer".

        Returns:
            What happened, any words of the human, and the scene.
        """
        return self._act("close", {"fixture": fixture}, f"close {_text(fixture)}")

    def move(self, direction: Literal["left", "right", "forward", "back"], cm: int | None = None) -> str:
        """Nudge the gripper (after a missed grasp or set-down this retries the skill).

        Args:
            direction: left, right, forward or back.
            cm: Distance, 1 to 20 cm; leave it out for the plain 4 cm.

        Returns:
            What happened, any words of the human, and the scene.
        """
        action = f"move {_text(direction)}" if cm is None else f"move {_text(direction)} {_text(cm)} cm"
        return self._act("move", {"direction": direction, "cm": cm}, action)

    def release(self) -> str:
        """Open the gripper, dropping what it holds (unsafe unless it is a set-down).

        Returns:
            What happened, any words of the human, and the scene.
        """
        return self._act("release", {}, "release")

    def done(self) -> str:
        """Give up the current task (it counts as failed).

        Returns:
            What happened and the next task, if any.
        """
        return self._act("done", {}, "done")


class RobotCorrection(_Robot):
    """``robot_correction-v0`` (YAY Robot): command a robot arm while a human corrects it live."""

    env_id = "robot_correction-v0"


class RobotMemory(_Robot):
    """``robot_memory-v0`` (DROC): campaigns of tabletop tasks with a knowledge base that persists."""

    env_id = "robot_memory-v0"
    tool_hint = _Robot.tool_hint + ' note(text=...) stores a note and recall(query=...) retrieves notes.'

    def note(self, text: str) -> str:
        """Store one line in the knowledge base, which lasts across the campaign's tasks.

        Args:
            text: The note, e.g. "spoon goes in the shelf".

        Returns:
            The confirmation and the scene.
        """
        return self._act("note", {"text": text}, f'note "{_text(text)}"')

    def recall(self, query: str) -> str:
        """Show the stored notes that share the most words with a query.

        Args:
            query: The words to look for, e.g. "spoon".

        Returns:
            The recalled notes and the scene.
        """
        return self._act("recall", {"query": query}, f"recall {_text(query)}")


# --- registry, factories and datasets -----------------------------------------------------------

#: The environment class of every env id (``search_feedback-v0``'s stage-wise mode: SearchStagewise).
CLASSES: dict[str, type[LmGymEnvironment]] = {
    cls.env_id: cls
    for cls in (
        CarDealer,
        Chess,
        ChessEndgames,
        ConvRec,
        DataTeacher,
        GuessMyCity,
        MazeFO,
        MazePO,
        RecoFeed,
        RobotCorrection,
        RobotMemory,
        SearchFeedback,
        TextNavFO,
        TextNavPO,
        ToolFeedback,
        TwentyQuestions,
        Wordle,
    )
}


def tool_names(cls: type[LmGymEnvironment] | LmGymEnvironment) -> list[str]:
    """The methods TRL turns into tools: every public function of the class but ``reset`` and ``get_reward``."""
    import inspect

    cls = cls if isinstance(cls, type) else type(cls)
    return [
        name
        for name, _ in inspect.getmembers(cls, predicate=inspect.isfunction)
        if name not in ("reset", "get_reward") and not name.startswith("_")
    ]


def environment_class(env_id: str, config: str | dict | None = None) -> type[LmGymEnvironment]:
    """The class for an env id; a ``search_feedback-v0`` config with ``stagewise: true`` gives SearchStagewise."""
    try:
        cls = CLASSES[env_id]
    except KeyError:
        raise KeyError(f"no TRL environment for {env_id!r}; known: {sorted(CLASSES)}") from None
    if cls is SearchFeedback and config is not None and _stagewise(TextEnv(env_id, config=_config_text(config))):
        return SearchStagewise
    return cls


def environment_factory(
    env_id: str,
    config: str | dict | None = None,
    unfinished_reward: float | str | None = "min",
) -> type[LmGymEnvironment]:
    """A class to pass as ``environment_factory``: the env id's class with ``config`` (RON text or
    a dict of fields) as its default config and ``unfinished_reward`` (see
    :class:`LmGymEnvironment`). Without either it is the ready class itself (``Wordle``, ...)."""
    cls = environment_class(env_id, config)
    text = _config_text(config)
    if text is None and unfinished_reward == "min":
        return cls
    if text is not None:
        TextEnv(env_id, config=text)  # a bad config fails here, naming the problem, not in the trainer
    attributes = {
        "default_config": text if text is not None else cls.default_config,
        "unfinished_reward": unfinished_reward,
    }
    return type(cls.__name__, (cls,), {"__doc__": cls.__doc__, "__module__": __name__, **attributes})


def environment_factories(
    env_ids: Iterable[str] | None = None,
    configs: dict[str, str | dict] | None = None,
    unfinished_reward: dict[str, float | str | None] | None = None,
) -> dict[str, type[LmGymEnvironment]]:
    """TRL's dict form of ``environment_factory``: ``{env_id: class}`` for ``env_ids`` (default:
    every env id the engine registers). Rows choose their env with the ``environment`` column,
    which :func:`prompt_dataset` fills with the env id."""
    from lm_gym import env_ids as registered

    ids = list(registered() if env_ids is None else env_ids)
    configs = configs or {}
    unfinished_reward = unfinished_reward or {}
    return {
        env_id: environment_factory(env_id, configs.get(env_id), unfinished_reward.get(env_id, "min")) for env_id in ids
    }


def _instructions(env_id: str, cls: type[LmGymEnvironment]) -> str:
    tools = ", ".join(tool_names(cls))
    hint = f" {cls.tool_hint}" if cls.tool_hint else ""
    return (
        f"You are the agent in the environment {env_id} of lm-gym. Act only by calling the tools you "
        f"are given ({tools}): each call is one action, and its result is the environment's reply. "
        f"Where the description below asks you to reply with a command, call the matching tool "
        f"instead.{hint} Keep acting until the environment says the episode is over.\n\n"
        "The environment's description and first observation:\n\n"
    )


def prompt_dataset(
    env_ids: str | Iterable[str],
    seeds: Iterable[int] | None = None,
    n: int | None = None,
    config: str | dict | None = None,
    system_prompt: str | None = None,
    as_dataset: bool = False,
) -> list[dict[str, Any]] | Any:
    """Rows for ``GRPOTrainer(train_dataset=...)``: one per (seed, env id), seeds in order.

    Each row has ``prompt`` (conversational: an optional system message, then a user message that
    explains the tool use; TRL appends the env's opening prompt, which ``reset`` returns, to it),
    ``seed``, ``environment`` (the env id, for the dict form of ``environment_factory``) and, when
    ``config`` is given, ``config`` (RON text). Seeds are ``seeds``, or ``0..n-1``. With several
    env ids the rows alternate between them, seed by seed. A list of dicts, or a
    ``datasets.Dataset`` with ``as_dataset=True`` (needs the ``datasets`` package).
    """
    ids = [env_ids] if isinstance(env_ids, str) else list(env_ids)
    if seeds is None:
        if n is None:
            raise TypeError("give the seeds (seeds=[...]) or their number (n=...)")
        seeds = range(n)
    elif n is not None:
        raise TypeError("give either seeds or n, not both")
    text = _config_text(config)
    messages = {}
    for env_id in ids:
        cls = environment_class(env_id, text)
        head = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages[env_id] = head + [{"role": "user", "content": _instructions(env_id, cls)}]
    rows = []
    for seed in seeds:
        for env_id in ids:
            row = {"prompt": [dict(m) for m in messages[env_id]], "seed": int(seed), "environment": env_id}
            if text is not None:
                row["config"] = text
            rows.append(row)
    if as_dataset:
        try:
            import datasets
        except ImportError as error:
            raise ImportError("as_dataset=True needs the `datasets` package (pip install datasets)") from error
        return datasets.Dataset.from_list(rows)
    return rows
