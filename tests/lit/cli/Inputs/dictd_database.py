#!/usr/bin/env python3
"""Writes a small dictd database, DIR/NAME.dict and DIR/NAME.index, for the
sparta-train --pack tests: COUNT entries of made-up words, each
"headword\\n   definition...\\n", separated by blank lines as dictfmt writes
them, the index sorted by headword (offsets and lengths in dictd's base64).

    dictd_database.py DIR NAME COUNT
"""
import os
import random
import sys

DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64(value):
    out = ""
    while True:
        out = DIGITS[value % 64] + out
        value //= 64
        if value == 0:
            return out


def main():
    folder, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(7)
    text, index = "\n\n", []
    for i in range(count):
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
        word += str(i)
        lines = [" ".join(rng.choice(["a", "the", "of", "bytes", "word", "sparse", "entry"])
                          for _ in range(rng.randint(2, 12))) for _ in range(rng.randint(1, 8))]
        entry = word + "\n" + "".join("   " + line + "\n" for line in lines)
        index.append(f"{word}\t{b64(len(text))}\t{b64(len(entry))}\n")
        text += entry + "\n"
    with open(os.path.join(folder, name + ".dict"), "w") as f:
        f.write(text)
    with open(os.path.join(folder, name + ".index"), "w") as f:
        f.writelines(sorted(index))


if __name__ == "__main__":
    main()
