#!/usr/bin/env python3
"""Plays Twenty Questions and Wordle from Python with scripted policies (no training).

Usage (after `bash python/test.sh` or `maturin develop -m python/Cargo.toml` in a venv):
    python examples/python_play.py --episodes 5

Twenty Questions goes through Gymnasium (`gymnasium.make`); Wordle through the batched
`lm_gym.make_vec`, one policy call for the whole batch. Wordle is skipped, with a message, when
the engine this package was built from does not register `wordle-v0`.
"""

from __future__ import annotations

import argparse

import gymnasium

import lm_gym

TWENTY_QUESTIONS = "twenty_questions-v0"
WORDLE = "wordle-v0"

# Category questions in order; once one is answered "Yes.", the object is guessed among a few
# everyday members of that category (a scripted policy: no model, no knowledge base).
CATEGORIES = [
    ("Is it an animal?", ["dog", "cat", "horse", "cow", "pig", "chicken", "elephant", "lion"]),
    ("Is it a fruit?", ["apple", "banana", "orange", "strawberry", "grapes", "lemon", "cherry"]),
    ("Is it a vegetable?", ["carrot", "potato", "tomato", "broccoli", "onion", "corn"]),
    ("Is it a vehicle?", ["car", "bus", "truck", "bicycle", "airplane", "train"]),
    ("Is it clothing?", ["t-shirt", "jeans", "jacket", "shoes", "hat", "socks"]),
    ("Is it electronic?", ["smartphone", "laptop", "television", "camera", "keyboard"]),
    ("Is it a musical instrument?", ["piano", "guitar", "violin", "drum", "flute", "trumpet"]),
    ("Is it furniture?", ["chair", "table", "sofa", "bed", "desk", "lamp"]),
    ("Is it an office supply?", ["pen", "pencil", "stapler", "scissors", "ruler", "notebook"]),
    ("Is it a kitchen tool?", ["knife", "fork", "spoon", "toaster", "kettle", "blender"]),
    ("Is it a toy?", ["teddy bear", "doll", "kite", "balloon", "yo-yo"]),
    ("Is it a tool?", ["hammer", "screwdriver", "wrench", "saw", "ladder"]),
    ("Is it used for sports?", ["basketball", "soccer ball", "tennis racket", "skateboard"]),
]


class TwentyQuestionsPolicy:
    """Narrows the category with yes/no questions, then guesses members of it."""

    def __init__(self) -> None:
        self.category = 0
        self.found: list[str] | None = None

    def act(self, last_answer: str | None) -> str:
        if self.found is None and last_answer is not None:
            if last_answer.strip().startswith("Yes"):
                self.found = list(CATEGORIES[self.category][1])
            else:
                self.category += 1
        if self.found:
            return f"Is it a {self.found.pop(0)}?"
        if self.found is None and self.category < len(CATEGORIES):
            return CATEGORIES[self.category][0]
        return "Is it bigger than a person?"


def play_twenty_questions(episodes: int, seed: int) -> None:
    env = gymnasium.make(TWENTY_QUESTIONS)
    returns = []
    for episode in range(episodes):
        observation, info = env.reset(seed=seed if episode == 0 else None)
        policy = TwentyQuestionsPolicy()
        total, turn, done, answer = 0.0, 0, False, None
        while not done:
            action = policy.act(answer)
            observation, reward, terminated, truncated, info = env.step(action)
            answer = observation
            total += reward
            turn += 1
            done = terminated or truncated
        returns.append(total)
        outcome = "found it" if info["success"] else "did not find it"
        print(f"twenty questions episode {info['episode']}: {turn} questions, return {total:+.0f}, {outcome}")
    print(f"twenty questions mean return {sum(returns) / len(returns):+.2f}\n")


# Common five-letter words, openers first; the policy guesses the first one still consistent
# with every mark seen (LMRL-Gym's marking: a letter in the word but elsewhere is `y` each time).
WORDS = (
    "raise clout nymph tears stone crane slate later alert arose irate store share shore "
    "spare snare stare scare score sport short smart start plant chant giant point joint "
    "paint faint saint print bring thing think drink blink brick trick stick quick chick "
    "black plank blank flank crank thank drank spank frank shank wrong among along alone "
    "about above abuse actor acute adopt adult after again agent agree ahead alarm album "
    "world would write wrote yield young youth zebra water watch waste whole whose woman"
).split()


def marks(guess: str, word: str) -> str:
    return " ".join("g" if g == w else ("y" if g in word else "b") for g, w in zip(guess, word))


def wordle_policy(history: list[tuple[str, str]]) -> str:
    guessed = {guess for guess, _ in history}
    for word in WORDS:
        if word not in guessed and all(marks(guess, word) == seen for guess, seen in history):
            return word
    return next(word for word in WORDS if word not in guessed)


def play_wordle(episodes: int, seed: int, batch: int) -> None:
    if WORDLE not in lm_gym.env_ids():
        print(f"skipping Wordle: `{WORDLE}` is not registered in this build (envs: {', '.join(lm_gym.env_ids())})")
        return
    vector = lm_gym.make_vec(WORDLE, batch)
    observations, _ = vector.reset(seed=seed)
    histories: list[list[tuple[str, str]]] = [[] for _ in range(batch)]
    last_guess = [""] * batch
    totals = [0.0] * batch
    finished = 0
    wins = 0
    while finished < episodes:
        actions = []
        for slot in range(batch):
            last_guess[slot] = wordle_policy(histories[slot])
            actions.append(last_guess[slot])
        observations, rewards, terminated, truncated, infos = vector.step(actions)
        for slot in range(batch):
            if infos["autoreset"][slot]:
                # NEXT_STEP autoreset: this step started the slot's next episode.
                histories[slot], totals[slot] = [], 0.0
                continue
            totals[slot] += rewards[slot]
            if not infos["invalid_action"][slot]:
                histories[slot].append((last_guess[slot], observations[slot].strip()))
            if terminated[slot] or truncated[slot]:
                finished += 1
                wins += bool(infos["success"][slot])
                print(
                    f"wordle episode {infos['episode'][slot]}: {len(histories[slot])} guesses "
                    f"({' '.join(guess for guess, _ in histories[slot])}), return {totals[slot]:+.0f}"
                )
    print(f"wordle: {wins} of {finished} found")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=4, help="Wordle slots stepped together")
    args = parser.parse_args()
    play_twenty_questions(args.episodes, args.seed)
    play_wordle(args.episodes, args.seed, args.batch)


if __name__ == "__main__":
    main()
