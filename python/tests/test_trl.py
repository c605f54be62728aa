"""`lm_gym.trl`: the TRL `environment_factory` classes, built and driven as `GRPOTrainer` does.

The main test plays the built-in experts' episodes through the tool methods: each recorded
action text is mapped back to the tool call that composes it, and the tool-played episode must
give the record's rewards, return and transcript byte for byte.
"""

import inspect
import json
import re
from pathlib import Path

import pytest
from transformers.utils import get_json_schema
from transformers.utils.chat_template_utils import render_jinja_template

import lm_gym
from lm_gym import trl as lt

REPO = Path(__file__).resolve().parents[2]

#: The tools every class must expose: one per verb of its env.
VERBS = {
    lt.TwentyQuestions: {"ask", "guess"},
    lt.GuessMyCity: {"ask", "guess"},
    lt.Wordle: {"guess"},
    lt.MazeFO: {"move"},
    lt.MazePO: {"move"},
    lt.TextNavFO: {"go", "take", "drop", "put", "insert", "eat", "open", "close"},
    lt.TextNavPO: {"go", "take", "drop", "put", "insert", "eat", "open", "close"},
    lt.Chess: {"move"},
    lt.ChessEndgames: {"move"},
    lt.CarDealer: {"say", "offer"},
    lt.ToolFeedback: {"execute", "propose_solution"},
    lt.SearchFeedback: {"search", "ask_clarifying_question", "answer"},
    lt.SearchStagewise: {"plan", "search", "answer"},
    lt.DataTeacher: {"gen", "item", "explore", "exploit", "submit", "end_iteration"},
    lt.RecoFeed: {"recommend"},
    lt.ConvRec: {"ask", "ask_group", "recommend"},
    lt.RobotCorrection: {"pick", "place", "open", "close", "move", "release", "done"},
    lt.RobotMemory: {"pick", "place", "open", "close", "move", "release", "done", "note", "recall"},
}

#: Extra dataset columns a real row may carry; `reset` must ignore them.
EXTRA_COLUMNS = {"answer": "unused", "id": 17, "difficulty": None}


def trl_tools(instance):
    """The tools TRL's GRPOTrainer extracts from an environment instance (its own discovery rule)."""
    names = [name for name, _ in inspect.getmembers(type(instance), predicate=inspect.isfunction)]
    assert "reset" in names, "TRL requires a reset method"
    return {
        name: getattr(instance, name)
        for name in names
        if name not in ("reset", "get_reward") and not name.startswith("_")
    }


# --- from a recorded action text back to the tool call that composes it ---------------------------

ATTRIBUTE_QUESTIONS = set(
    re.findall(r'question: "([^"]*)"', (REPO / "envs/src/twenty_questions/knowledge.ron").read_text())
)
OFFSET = r"((?: (?:left|right|forward|back) \d+ cm)*)"


def offsets(text):
    right = forward = 0
    for word, amount in re.findall(r"(left|right|forward|back) (\d+) cm", text):
        sign = -1 if word in ("left", "back") else 1
        if word in ("left", "right"):
            right += sign * int(amount)
        else:
            forward += sign * int(amount)
    return {"right_cm": right, "forward_cm": forward}


def twenty_questions_calls(text):
    guess = re.fullmatch(r"Is it an? (.+)\?", text)
    if guess and text not in ATTRIBUTE_QUESTIONS:
        return [("guess", {"name": guess[1]})]
    return [("ask", {"question": text})]


def guess_my_city_calls(text):
    guess = re.fullmatch(r"Is it ([A-Z][^?]*)\?", text)
    return [("guess", {"city": guess[1]})] if guess else [("ask", {"question": text})]


def text_nav_calls(text):
    patterns = [
        (r"go (\w+)", "go", ("direction",)),
        (r"take (.+) from (table|chest|fridge)", "take", ("item", "source")),
        (r"take (.+)", "take", ("item",)),
        (r"drop (.+)", "drop", ("item",)),
        (r"put (.+) on table", "put", ("item",)),
        (r"insert (.+) into (chest|fridge)", "insert", ("item", "container")),
        (r"eat (.+)", "eat", ("item",)),
        (r"open (chest|fridge)", "open", ("container",)),
        (r"close (chest|fridge)", "close", ("container",)),
    ]
    for pattern, tool, names in patterns:
        match = re.fullmatch(pattern, text)
        if match:
            return [(tool, dict(zip(names, match.groups())))]
    raise AssertionError(f"no Text-Nav tool composes {text!r}")


def tool_feedback_calls(text):
    execute = re.fullmatch(r"<execute>(.*)</execute>", text, re.DOTALL)
    if execute:
        return [("execute", {"code": execute[1]})]
    solution = re.fullmatch(r"<solution>(.*)</solution>", text, re.DOTALL)
    assert solution, text
    return [("propose_solution", {"answer": solution[1]})]


def search_calls(text):
    if text.startswith("search "):
        return [("search", {"query": text[len("search ") :]})]
    if text.startswith("ask_clarify "):
        return [("ask_clarifying_question", {"question": text[len("ask_clarify ") :]})]
    answer = re.fullmatch(r"answer (\S+)(?: (.+))?", text)
    assert answer, text
    return [("answer", {"documents": answer[1].split(","), "summary": answer[2]})]


def stagewise_calls(text):
    if text.startswith("plan "):
        return [("plan", {"parts": text[len("plan ") :].split("; ")})]
    if text.startswith("search "):
        return [("search", {"query": text[len("search ") :]})]
    assert text.startswith("answer "), text
    return [("answer", {"groups": [group.split(",") for group in text[len("answer ") :].split(" | ")]})]


def data_teacher_calls(text):
    lines = text.split("\n")
    last = ("end_iteration", {}) if lines[-1] == "end_iteration" else ("submit", {})
    if lines[-1] == "end_iteration":
        lines = lines[:-1]
    calls = []
    for line in lines:
        if match := re.fullmatch(r"gen (\S+) n=(\d+) difficulty=(\d)", line):
            calls.append(("gen", {"subskill": match[1], "n": int(match[2]), "difficulty": int(match[3])}))
        elif match := re.fullmatch(r'item (\S+) q="([^"]*)" a="([^"]*)"', line):
            calls.append(("item", {"subskill": match[1], "question": match[2], "answer": match[3]}))
        elif match := re.fullmatch(r"explore (\S+)(?: each=(\d+))?", line):
            each = None if match[2] is None else int(match[2])
            calls.append(("explore", {"skill": match[1], "each": each}))
        elif match := re.fullmatch(r"exploit (\S+) \+(\d+)", line):
            calls.append(("exploit", {"subskill": match[1], "n": int(match[2])}))
        else:
            raise AssertionError(f"no DataTeacher tool composes {line!r}")
    return calls + [last]


def conv_rec_calls(text):
    verb, _, rest = text.partition(" ")
    if verb == "recommend":
        return [("recommend", {"items": rest.split(", ")})]
    assert verb in ("ask", "ask_group"), text
    return [(verb, {"attribute" if verb == "ask" else "parent": rest})]


def robot_calls(text):
    if match := re.fullmatch(r"pick (.+?)" + OFFSET, text):
        return [("pick", {"item": match[1], **offsets(match[2])})]
    if match := re.fullmatch(r"place (.+?) in (bin|top drawer|bottom drawer|shelf)" + OFFSET, text):
        return [("place", {"item": match[1], "fixture": match[2], **offsets(match[3])})]
    if match := re.fullmatch(r"(open|close) (top drawer|bottom drawer)", text):
        return [(match[1], {"fixture": match[2]})]
    if match := re.fullmatch(r"move (left|right|forward|back)(?: (\d+) cm)?", text):
        return [("move", {"direction": match[1], "cm": None if match[2] is None else int(match[2])})]
    if text in ("release", "done"):
        return [(text, {})]
    if match := re.fullmatch(r'note "(.*)"', text):
        return [("note", {"text": match[1]})]
    if match := re.fullmatch(r"recall (.+)", text):
        return [("recall", {"query": match[1]})]
    raise AssertionError(f"no robot tool composes {text!r}")


def single(tool, argument):
    return lambda text: [(tool, {argument: text})]


def prefixed(tool, argument, prefix):
    def calls(text):
        assert text.startswith(prefix), text
        rest = text[len(prefix) :]
        return [(tool, {argument: rest.split(", ") if argument == "items" else rest})]

    return calls


#: (scenario, the class TRL would build, episodes, the action-text-to-tool-calls mapping)
EXPERT_RUNS = [
    ("twenty_questions", lt.TwentyQuestions, 4, twenty_questions_calls),
    ("guess_my_city", lt.GuessMyCity, 4, guess_my_city_calls),
    ("wordle", lt.Wordle, 4, single("guess", "word")),
    ("maze_fo", lt.MazeFO, 4, prefixed("move", "direction", "move ")),
    ("maze_po", lt.MazePO, 4, prefixed("move", "direction", "move ")),
    ("text_nav_fo", lt.TextNavFO, 4, text_nav_calls),
    ("text_nav_po_look_alike", lt.TextNavPO, 4, text_nav_calls),
    ("chess", lt.Chess, 1, single("move", "notation")),
    ("chess_endgames", lt.ChessEndgames, 3, single("move", "notation")),
    ("car_dealer", lt.CarDealer, 4, single("say", "message")),
    ("tool_feedback", lt.ToolFeedback, 4, tool_feedback_calls),
    ("search_feedback_asker", lt.SearchFeedback, 3, search_calls),
    ("search_stagewise", lt.SearchStagewise, 3, stagewise_calls),
    ("data_teacher", lt.DataTeacher, 2, data_teacher_calls),
    ("data_teacher_tree", lt.DataTeacher, 1, data_teacher_calls),
    ("reco_feed", lt.RecoFeed, 2, prefixed("recommend", "items", "recommend ")),
    ("conv_rec", lt.ConvRec, 4, conv_rec_calls),
    ("robot_correction", lt.RobotCorrection, 4, robot_calls),
    ("robot_memory", lt.RobotMemory, 1, robot_calls),
]
SEED = 5
#: Tools each run must have called at least once (so the mapping is exercised, not assumed).
MUST_USE = {
    "twenty_questions": {"ask", "guess"},
    "guess_my_city": {"ask", "guess"},
    "text_nav_fo": {"go", "take", "open", "insert", "close"},
    "tool_feedback": {"execute", "propose_solution"},
    "search_feedback_asker": {"search", "ask_clarifying_question", "answer"},
    "search_stagewise": {"plan", "search", "answer"},
    "data_teacher": {"gen", "end_iteration"},
    "data_teacher_tree": {"explore", "gen", "end_iteration"},
    "conv_rec": {"ask", "recommend"},
    "robot_correction": {"pick", "place", "open"},
    "robot_memory": {"pick", "place", "note", "recall"},
}


def entries(transcript):
    return [{key: entry[key] for key in ("speaker", "kind", "text")} for entry in transcript]


def test_every_env_id_has_a_class_and_an_expert_run():
    played = {cls.env_id for _, cls, _, _ in EXPERT_RUNS}
    for env_id in lm_gym.env_ids():
        assert env_id in lt.CLASSES, f"{env_id} has no TRL environment class"
        assert env_id in played, f"{env_id} is not played through its tools by any expert run"
        assert lt.environment_factory(env_id) is lt.CLASSES[env_id]


@pytest.mark.parametrize("scenario,cls,episodes,calls_of", EXPERT_RUNS, ids=[run[0] for run in EXPERT_RUNS])
def test_the_expert_plays_through_the_tools(scenario, cls, episodes, calls_of, tmp_path):
    result = lm_gym.run_scenario(scenario, episodes=episodes, batch_size=episodes, threads=1, seed=SEED, out=tmp_path)
    config = result.summary["env_config"]
    assert lt.environment_class(cls.env_id, config) is cls
    environment = cls()  # TRL: one no-argument instance, reset once per rollout
    used = set()
    for record in result.trajectories:
        (row,) = lt.prompt_dataset(cls.env_id, seeds=[SEED], config=config)
        row = {**row, "episode": record["episode"], **EXTRA_COLUMNS}
        assert environment.reset(**row) == record["transcript"][0]["text"]
        tools = trl_tools(environment)
        assert set(tools) == VERBS[cls]
        transcript = record["transcript"]
        for index, entry in enumerate(transcript):
            if entry["kind"] != "action":
                continue
            observation = transcript[index + 1]["text"]
            for tool, arguments in calls_of(entry["text"]):
                reply = tools[tool](**arguments)
                used.add(tool)
            assert environment.steps[-1]["action"] == entry["text"]
            assert reply in (observation, f"{observation}\n\n{lt.EPISODE_OVER_NOTE}")
        assert entries(environment.transcript) == entries(transcript)
        assert [step["reward"] for step in environment.steps] == record["rewards"]
        assert environment.get_reward() == pytest.approx(record["return"], abs=1e-12)
        assert environment.finished and environment.truncated == (record["truncated"] and not record["terminated"])
        assert reply.endswith(lt.EPISODE_OVER_NOTE)
        name, arguments = calls_of(transcript[1]["text"])[0]
        with pytest.raises(lt.EpisodeOver, match="the episode is over"):
            tools[name](**arguments)
        assert len(environment.steps) == record["turns"]
    assert MUST_USE.get(scenario, set()) <= used, used


ALL_CLASSES = list(VERBS)


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=[cls.__name__ for cls in ALL_CLASSES])
def test_trl_discovers_exactly_the_verbs_and_each_has_a_json_schema(cls):
    instance = cls()
    tools = trl_tools(instance)
    assert set(tools) == VERBS[cls]
    assert set(lt.tool_names(cls)) == VERBS[cls]
    assert callable(instance.get_reward)
    for name, method in tools.items():
        schema = get_json_schema(method)["function"]
        assert schema["name"] == name
        assert schema["description"]
        parameters = inspect.signature(method).parameters
        assert set(schema["parameters"]["properties"]) == set(parameters)
        assert all(spec.get("description") for spec in schema["parameters"]["properties"].values())
        required = {p for p, spec in parameters.items() if spec.default is inspect.Parameter.empty}
        assert set(schema["parameters"].get("required", [])) == required
        assert schema["return"]["description"]


def test_the_tools_render_through_transformers_chat_template_path():
    """What TRL does with a row: reset's prompt appended to the last user message, the bound
    methods passed as `tools` to the chat template (transformers turns them into schemas)."""
    template = (
        "{% for tool in tools %}TOOL {{ tool | tojson }}\n{% endfor %}"
        "{% for message in messages %}{{ message.role }}: {{ message.content }}\n{% endfor %}"
    )
    environment = lt.MazeFO()
    (row,) = lt.prompt_dataset("maze-fo-v0", seeds=[0], system_prompt="Be brief.")
    last = row["prompt"][-1]
    prompt = row["prompt"][:-1] + [{**last, "content": last["content"] + environment.reset(**row)}]
    rendered = render_jinja_template([prompt], tools=list(trl_tools(environment).values()), chat_template=template)
    text = rendered[0] if isinstance(rendered, tuple) else rendered
    text = text[0] if isinstance(text, list) else text
    tool_lines = [json.loads(line[len("TOOL ") :]) for line in text.splitlines() if line.startswith("TOOL ")]
    assert [tool["function"]["name"] for tool in tool_lines] == ["move"]
    assert tool_lines[0]["function"]["parameters"]["properties"]["direction"]["enum"] == ["up", "down", "left", "right"]
    assert "system: Be brief." in text
    assert "call the matching tool instead" in text and "The goal is at position 8, 6." in text


def test_a_tool_raises_after_the_episode_ends_and_before_any_reset():
    environment = lt.Wordle()
    with pytest.raises(RuntimeError, match="reset"):
        environment.guess(word="crane")
    environment.reset(seed=3)
    replies = [environment.guess(word="zzzzz") for _ in range(6)]
    assert replies[-1].endswith(lt.EPISODE_OVER_NOTE) and not replies[-2].endswith(lt.EPISODE_OVER_NOTE)
    assert environment.finished and environment.get_reward() == -6.0
    with pytest.raises(lt.EpisodeOver, match=r"the episode is over \(it ended after 6 actions\)"):
        environment.guess(word="crane")
    assert len(environment.steps) == 6
    # Pooled: the same instance plays the next rollout after a reset.
    environment.reset(seed=3)
    assert not environment.finished and environment.steps == [] and environment.episode_return == 0.0
    assert environment.get_reward() == -6.0, "an unfinished episode scores Wordle's low anchor"


def test_a_truncated_episode_says_so():
    environment = lt.TextNavFO()
    environment.reset(seed=0)
    for _ in range(15):
        environment.go(direction="up")  # refused, reward 0; the 15th command reaches the horizon
    assert environment.finished and environment.truncated
    with pytest.raises(lt.EpisodeOver, match="the turn limit was reached"):
        environment.go(direction="east")


#: (class, tool, arguments, the env's penalty): arguments the env cannot read are its business.
INVALID = [
    (lt.Wordle, "guess", {"word": "12345"}, -1.0),
    (lt.Wordle, "guess", {"word": 12345}, -1.0),
    (lt.Wordle, "guess", {"word": ["qqqqq"]}, -1.0),
    (lt.TwentyQuestions, "ask", {"question": ""}, -1.0),
    (lt.GuessMyCity, "ask", {"question": "   "}, -1.0),
    (lt.MazeFO, "move", {"direction": "diagonally"}, -4.0),
    (lt.MazePO, "move", {"direction": None}, -4.0),
    (lt.TextNavFO, "take", {"item": "piano", "source": "table"}, 0.0),
    (lt.TextNavPO, "go", {"direction": "up"}, 0.0),
    (lt.Chess, "move", {"notation": "Ke9"}, -1.0),
    (lt.ChessEndgames, "move", {"notation": ""}, -1.0),
    (lt.CarDealer, "say", {"message": ""}, 0.0),
    (lt.ToolFeedback, "execute", {"code": ""}, 0.0),
    (lt.SearchFeedback, "answer", {"documents": []}, -0.05),
    (lt.SearchFeedback, "answer", {"documents": "d1, d1"}, -0.05),
    (lt.SearchStagewise, "search", {"query": "jaguar"}, -0.05),
    (lt.RecoFeed, "recommend", {"items": ["i1"]}, -1.0),
    (lt.ConvRec, "ask", {"attribute": "nothing/none"}, -0.1),
    (lt.ConvRec, "recommend", {"items": ["v1", "v1"]}, -0.1),
    (lt.RobotCorrection, "pick", {"item": "", "right_cm": 99}, 0.0),
    (lt.RobotMemory, "place", {"item": "mug", "fixture": "roof"}, 0.0),
]


@pytest.mark.parametrize("cls,tool,arguments,penalty", INVALID, ids=[f"{c.__name__}.{t}" for c, t, _, _ in INVALID])
def test_unreadable_arguments_get_the_envs_invalid_action_reply_and_penalty(cls, tool, arguments, penalty):
    environment = cls()
    environment.reset(seed=1)
    reply = getattr(environment, tool)(**arguments)
    step = environment.steps[-1]
    assert step["info"]["invalid_action"], (step["action"], reply)
    assert step["reward"] == pytest.approx(penalty)
    assert reply.startswith(step["observation"]) and reply


def test_data_teacher_sends_the_pending_lines_as_one_action():
    environment = lt.DataTeacher()
    environment.reset(seed=2)
    reply = environment.gen(subskill="nope", n=5)
    assert reply.startswith("Added to the pending action (1 line)") and environment.steps == []
    environment.item(subskill="add_carry", question="What is 47 + 38?", answer="85")
    assert environment.pending == ['gen nope n=5 difficulty=2', 'item add_carry q="What is 47 + 38?" a="85"']
    environment.submit()
    assert environment.steps[-1]["action"] == 'gen nope n=5 difficulty=2\nitem add_carry q="What is 47 + 38?" a="85"'
    assert environment.steps[-1]["info"]["invalid_action"]  # one bad line rejects the whole action
    assert environment.pending == []
    environment.gen(subskill="parity", n=10, difficulty=1)
    environment.end_iteration()
    step = environment.steps[-1]
    assert step["action"] == "gen parity n=10 difficulty=1\nend_iteration" and not step["info"]["invalid_action"]
    assert "Iteration 1 done" in step["observation"]


def test_composed_actions():
    environment = lt.TwentyQuestions()
    environment.reset(seed=0)
    environment.guess(name="apple")
    environment.guess(name="dog")
    assert [step["action"] for step in environment.steps] == ["Is it an apple?", "Is it a dog?"]

    seller = lt.CarDealer()
    seller.reset(seed=0)
    seller.say(message="Welcome! What are you looking for today?")
    seller.offer(price=31000.4, message="It has everything you asked for.")
    seller.offer(price=29500)
    actions = [step["action"] for step in seller.steps]
    assert actions[1:] == [
        "It has everything you asked for. I can offer it to you for $31,000.",
        "I can offer it to you for $29,500.",
    ]
    assert not any(step["info"]["invalid_action"] for step in seller.steps)

    robot = lt.RobotMemory()
    robot.reset(seed=0)
    robot.pick(item="red mug", right_cm=-2, forward_cm=4)
    robot.place(item="red mug", fixture="shelf", forward_cm=-2)
    robot.move(direction="left")
    robot.move(direction="back", cm=2)
    robot.note(text="mug pick offset x -2 y 4")
    robot.recall(query="mug")
    assert [step["action"] for step in robot.steps] == [
        "pick red mug left 2 cm forward 4 cm",
        "place red mug in shelf back 2 cm",
        "move left",
        "move back 2 cm",
        'note "mug pick offset x -2 y 4"',
        "recall mug",
    ]

    search = lt.SearchStagewise()
    search.reset(seed=0)
    search.plan(parts=["price", "care"])
    search.answer(groups=[["d1", "d2"], ["d3"]])
    assert [step["action"] for step in search.steps] == ["plan price; care", "answer d1,d2 | d3"]


def test_prompt_dataset_rows():
    rows = lt.prompt_dataset("wordle-v0", n=3)
    assert [row["seed"] for row in rows] == [0, 1, 2]
    assert all(row["environment"] == "wordle-v0" and "config" not in row for row in rows)
    (message,) = rows[0]["prompt"]
    assert message["role"] == "user" and message["content"].endswith("\n\n") and "(guess)" in message["content"]

    rows = lt.prompt_dataset(["maze-fo-v0", "conv_rec-v0"], seeds=[7, 9], config=None, system_prompt="Think first.")
    assert [(row["environment"], row["seed"]) for row in rows] == [
        ("maze-fo-v0", 7), ("conv_rec-v0", 7), ("maze-fo-v0", 9), ("conv_rec-v0", 9)
    ]
    assert rows[1]["prompt"][0] == {"role": "system", "content": "Think first."}
    assert "ask, ask_group, recommend" in rows[1]["prompt"][1]["content"]

    (row,) = lt.prompt_dataset("search_feedback-v0", seeds=[0], config={"stagewise": True})
    assert row["config"] == "(stagewise: true)"
    assert "(answer, plan, search)" in row["prompt"][0]["content"]

    with pytest.raises(TypeError):
        lt.prompt_dataset("wordle-v0")
    with pytest.raises(TypeError):
        lt.prompt_dataset("wordle-v0", seeds=[1], n=1)
    try:
        import datasets  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="datasets"):
            lt.prompt_dataset("wordle-v0", n=1, as_dataset=True)
    else:
        assert len(lt.prompt_dataset("wordle-v0", n=2, as_dataset=True)) == 2


def test_the_dict_form_routes_rows_to_their_env():
    factories = lt.environment_factories()
    assert set(factories) == set(lm_gym.env_ids())
    rows = lt.prompt_dataset(list(factories), seeds=[4])
    for row in rows:
        environment = factories[row["environment"]]()
        # TRL's dict mode drops the `environment` control column before reset.
        prompt = environment.reset(**{key: value for key, value in row.items() if key != "environment"})
        assert prompt == lm_gym.make(row["environment"]).reset(seed=4)[0]


def test_a_group_of_rollouts_plays_the_same_episode():
    (row,) = lt.prompt_dataset("guess_my_city-v0", seeds=[11])
    group = [lt.GuessMyCity() for _ in range(3)]
    prompts = {environment.reset(**row) for environment in group}
    replies = {environment.ask(question="What is the city known for?") for environment in group}
    assert len(prompts) == 1 and len(replies) == 1


def test_environment_factory_config_and_unfinished_reward():
    start = {"start": lm_gym.config.Ron("Fixed(1, 1)")}
    cls = lt.environment_factory("maze-fo-v0", config=start, unfinished_reward=-101.0)
    assert cls is not lt.MazeFO and issubclass(cls, lt.MazeFO) and cls.__name__ == "MazeFO"
    environment = cls()
    assert "Your current position is at position 1, 1." in environment.reset(seed=0)
    environment.move(direction="right")
    assert environment.episode_return == -1.0 and environment.get_reward() == -101.0  # not finished
    # By default an unfinished episode scores the env's low anchor; None keeps the collected rewards.
    default = lt.MazeFO()
    default.reset(seed=0)
    default.move(direction="up")
    assert default.get_reward() == lm_gym.env_spec("maze-fo-v0")["score_anchors"]["min"]
    collected = lt.environment_factory("maze-fo-v0", unfinished_reward=None)()
    collected.reset(seed=0)
    collected.move(direction="up")
    assert collected.get_reward() == collected.episode_return
    # A row's own config replaces the class's.
    assert "position 5, 3." in environment.reset(seed=0, config="(start: Fixed(5, 3))")

    assert lt.environment_class("search_feedback-v0", "(stagewise: true, leak: 2)") is lt.SearchStagewise
    with pytest.raises(ValueError, match="SearchStagewise"):
        lt.SearchFeedback().reset(seed=0, config="(stagewise: true)")
    with pytest.raises(ValueError, match="stagewise: true"):
        lt.SearchStagewise().reset(seed=0, config="(leak: 2)")
    with pytest.raises(KeyError, match="no TRL environment"):
        lt.environment_factory("pong-v0")
    with pytest.raises(ValueError):
        lt.environment_factory("wordle-v0", config="(colour: 3)")


def test_trl_itself_when_installed():
    """With TRL installed (it needs torch, so it is not a test requirement): the trainer's own
    environment-factory contract. Skipped otherwise."""
    trl = pytest.importorskip(
        "trl", reason="trl is not installed (it pulls torch); the tests above replicate its discovery rule"
    )
    from trl import GRPOConfig, GRPOTrainer

    parameters = inspect.signature(GRPOTrainer).parameters
    assert "environment_factory" in parameters
    GRPOConfig(output_dir="/tmp/lm_gym_trl_check", max_tool_calling_iterations=8, report_to=[])
    assert trl.__version__
