#!/usr/bin/env python3
"""Regenerates answers.txt and guesses.txt from Debian's SCOWL word lists.

    apt-get install -y wamerican wamerican-small
    python3 envs/src/wordle/generate_words.py

Not needed at build time: the env reads the two .txt files beside this script.

- guesses.txt: every line of /usr/share/dict/american-english (wamerican, SCOWL size 50) that
  is exactly five lowercase letters a-z. Lowercase-only drops proper nouns; a-z only drops
  possessives ("'s") and accented words.
- answers.txt: the same filter on /usr/share/dict/american-english-small (wamerican-small,
  SCOWL size 35, its most common words), then without
  * regular inflections whose stem is a word of wamerican (plurals and third persons
    "books" <- "book", "boxes" <- "box", "cries" <- "cry"; past tenses "asked" <- "ask",
    "baked" <- "bake", "cried" <- "cry", "begged" <- "beg"), as the real game's answers leave
    them out, and
  * the five-letter words of the env's own messages (EXCLUDED), so no fixed text can spell
    the hidden word (the env's tests check this).
"""

import pathlib

HERE = pathlib.Path(__file__).resolve().parent
FULL = "/usr/share/dict/american-english"
SMALL = "/usr/share/dict/american-english-small"

# Five-letter words of the env's prompt and refusal messages (see `fixed_texts` in mod.rs).
EXCLUDED = {
    "after", "costs", "every", "extra", "finds", "holds", "means", "order", "point", "reply",
    "right", "spots", "times", "tries",
}


def five_letter_words(path):
    words = set()
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            word = line.strip()
            if len(word) == 5 and all("a" <= c <= "z" for c in word):
                words.add(word)
    return words


def lowercase_words(path):
    with open(path, encoding="utf-8") as lines:
        return {w for w in (line.strip() for line in lines) if w.isascii() and w.isalpha() and w.islower()}


def is_inflection(word, lexicon):
    if word.endswith("s") and not word.endswith("ss"):
        if word[:-1] in lexicon or (word.endswith("es") and word[:-2] in lexicon):
            return True
        if word.endswith("ies") and word[:-3] + "y" in lexicon:
            return True
    if word.endswith("ed"):
        if word[:-2] in lexicon or word[:-1] in lexicon:
            return True
        if word.endswith("ied") and word[:-3] + "y" in lexicon:
            return True
        if word[-3] == word[-4] and word[:-3] in lexicon:
            return True
    return False


def main():
    lexicon = lowercase_words(FULL)
    guesses = five_letter_words(FULL)
    answers = {
        w for w in five_letter_words(SMALL) if not is_inflection(w, lexicon) and w not in EXCLUDED
    }
    assert answers <= guesses, sorted(answers - guesses)
    (HERE / "guesses.txt").write_text("".join(w + "\n" for w in sorted(guesses)))
    (HERE / "answers.txt").write_text("".join(w + "\n" for w in sorted(answers)))
    print(f"{len(answers)} answers, {len(guesses)} guesses")


if __name__ == "__main__":
    main()
