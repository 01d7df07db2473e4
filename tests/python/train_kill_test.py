"""A killed `fracnas train` resumes from its last saved state (issue 22): the real binary on the
CPU, SIGKILL as soon as its first state is on disk, then the same command again. The resumed run
must report the step it continued from and the checkpoints of an uninterrupted run to the last
printed digit.

usage: train_kill_test.py FRACNAS SRC_PYTHON_DIR
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time


def main():
    fracnas, src_python = sys.argv[1], sys.argv[2]
    sys.path.insert(0, src_python)
    from fracnas_corpus import token_file

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        rng = random.Random(1)

        def stream(n):  # +1 mod 64 with probability 0.9: learnable, not trivial
            t = [0]
            for _ in range(n - 1):
                t.append((t[-1] + 1) % 64 if rng.random() < 0.9 else rng.randrange(64))
            return t

        token_file.write(os.path.join(data, "train.tokens"), stream(20000), 64)
        token_file.write(os.path.join(data, "val.tokens"), stream(3000), 64)
        command = [fracnas, "train", "--arch", "n_layer=1 d_model=32 d_inner=64 n_head=2 context=64", "--data", data,
                   "--tokens", str(8 * 32 * 150), "--batch", "8", "--seq-len", "32", "--lr", "3e-3", "--checkpoints", "4",
                   "--device", "cpu", "--json"]
        whole = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        assert whole["status"] == "ok", whole

        state = os.path.join(tmp, "state")
        killed = command + ["--state-dir", state, "--save-every", "7"]
        p = subprocess.Popen(killed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not os.path.exists(os.path.join(state, "latest.pt")):
            assert p.poll() is None, "the run ended before it saved a state"
            assert time.monotonic() < deadline, "no state saved within 120 s"
            time.sleep(0.005)
        time.sleep(0.05)  # a little later: perhaps mid-write of the next state (a .tmp file, renamed whole)
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert p.returncode == -signal.SIGKILL, "the run finished before it was killed (%s)" % p.returncode

        rest = json.loads(subprocess.run(killed, check=True, capture_output=True, text=True).stdout)
        assert rest["status"] == "ok", rest
        assert 0 < rest["resumed_from_step"] < whole["steps"], rest["resumed_from_step"]
        assert rest["resumed_from_step"] % 7 == 0, rest["resumed_from_step"]
        assert rest["steps"] == whole["steps"]
        strip = lambda cs: [{k: v for k, v in c.items() if k != "seconds"} for c in cs]
        assert strip(rest["checkpoints"]) == strip(whole["checkpoints"]), (rest["checkpoints"], whole["checkpoints"])
        assert rest["final_val_perplexity"] == whole["final_val_perplexity"]
        print("killed, resumed from step %d of %d: the same %d checkpoints, final val ppl %.6f"
              % (rest["resumed_from_step"], whole["steps"], len(whole["checkpoints"]), whole["final_val_perplexity"]))


if __name__ == "__main__":
    main()
