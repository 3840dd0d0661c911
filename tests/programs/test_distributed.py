"""cyclegan-train under mpirun, as a person runs it on one machine: 2 ranks equal one process with
twice the batch; an interrupted 2-rank run resumes exactly; a rank that fails or is killed ends the
whole job quickly, naming the rank, and the last checkpoint still loads; a checkpoint resumes with
another number of ranks. Run by ctest: python3 test_distributed.py BIN_DIR MPIEXEC"""
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_programs  # noqa: E402
from test_programs import SMALL, TempFolderCase, demo_data, losses_by_iteration, run, tool  # noqa: E402

MPIEXEC = None
# As root in CI, and more ranks than cores.
ENV = dict(os.environ, OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_WAIT_POLICY="passive")


def mpirun(ranks, *args):
    return [MPIEXEC, "-np", str(ranks), tool("cyclegan-train"), *[str(a) for a in args]]


def rows(log):
    if not os.path.exists(log):
        return 0
    with open(log) as f:
        return len(f.readlines())


class Distributed(TempFolderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = demo_data(os.path.join(cls.tmp, "shapes"), 7, 1)
        cls.big = demo_data(os.path.join(cls.tmp, "shapes40"), 40, 1)  # time to interrupt or kill mid-run

    def train(self, ranks, data, ckpt, name, *extra, check=True):
        cmd = mpirun(ranks, "--dataroot", data, "--checkpoints-dir", ckpt, "--name", name, *SMALL, *extra)
        p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def test_two_ranks_equal_one_process_with_twice_the_batch(self):
        # 7 images: the last step of each epoch has one image, and rank 1 none.
        ckpt = self.dir("ckpt_equal")
        args = ["--n-epochs", "1", "--n-epochs-decay", "1", "--seed", "4"]
        two = self.train(2, self.data, ckpt, "two", *args, "--batch-size", "1")
        self.assertIn("distributed: 2 processes", two.stdout)
        self.assertEqual(two.stdout.count("epoch 1/2 done"), 1, "rank 0 alone prints")
        run(tool("cyclegan-train"), "--dataroot", self.data, "--checkpoints-dir", ckpt, "--name", "one", *SMALL, *args,
            "--batch-size", "2")
        ours = losses_by_iteration(os.path.join(ckpt, "two", "loss_log.csv"))
        reference = losses_by_iteration(os.path.join(ckpt, "one", "loss_log.csv"))
        self.assertEqual(sorted(ours), sorted(reference))
        self.assertEqual(sorted(ours), [2, 4, 6, 7, 9, 11, 13, 14])
        # float32 reductions in another order: the first steps agree to the log's digits; later ones
        # drift apart as float rounding does in a GAN (tests/test_distributed.cpp shows the steps agree
        # to 1e-15 in double).
        for it in reference:
            for a, b in zip(ours[it], reference[it]):
                tolerance = 1e-4 if it <= 4 else 2e-2
                self.assertAlmostEqual(float(a), float(b), delta=tolerance * max(1.0, abs(float(b))), msg=f"iteration {it}")

    def test_interrupted_two_rank_run_resumes_exactly(self):
        # Ctrl-C to mpirun: it sends the ranks SIGTERM, and SIGKILL a second later; these small
        # steps finish and save in that second. (SIGUSR1 to mpirun gives them all the time they need.)
        for sig, name in ((signal.SIGINT, "part"), (signal.SIGUSR1, "part_usr1")):
            with self.subTest(signal=sig):
                self.check_interrupted_run_resumes_exactly(sig, name)

    def check_interrupted_run_resumes_exactly(self, sig, name):
        ckpt = self.dir("ckpt_resume_" + name)
        args = ["--n-epochs", "10", "--n-epochs-decay", "10", "--seed", "3"]  # pools of 50 fill, then draw at random
        self.train(2, self.big, ckpt, "reference", *args)
        log = os.path.join(ckpt, name, "loss_log.csv")
        # (SIGINT as a terminal's Ctrl-C gives it: this test may run where SIGINT is ignored, in a
        # background job, and mpirun would inherit that.)
        p = subprocess.Popen(mpirun(2, "--dataroot", self.big, "--checkpoints-dir", ckpt, "--name", name, *SMALL, *args),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.time() + 120
        while time.time() < deadline and rows(log) < 30:  # into the second epoch, where the pools are full
            time.sleep(0.02)
        p.send_signal(sig)
        out, err = p.communicate(timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("interrupted: saved", out, out + err)
        stopped_at = max(losses_by_iteration(log))
        self.assertLess(stopped_at, 800)
        self.train(2, self.big, ckpt, name, *args, "--continue-train")
        ours = losses_by_iteration(log)
        reference = losses_by_iteration(os.path.join(ckpt, "reference", "loss_log.csv"))
        self.assertEqual(sorted(ours), sorted(reference))
        for it in reference:  # the same numbers, to the digits the log keeps
            self.assertEqual(ours[it], reference[it], f"iteration {it} (interrupted after {stopped_at})")

    def test_resume_with_another_number_of_ranks(self):
        ckpt = self.dir("ckpt_ranks")
        self.train(2, self.data, ckpt, "run", "--n-epochs", "1", "--n-epochs-decay", "0")
        p = run(tool("cyclegan-train"), "--dataroot", self.data, "--checkpoints-dir", ckpt, "--name", "run", *SMALL,
                "--n-epochs", "2", "--n-epochs-decay", "0", "--continue-train")
        self.assertIn("saved by 2 processes, resumed by 1", p.stdout)
        self.assertIn("epoch 2/2 done", p.stdout)

    def test_ranks_that_see_different_data_are_refused_at_the_start(self):
        ckpt = self.dir("ckpt_mismatch")
        args = ["--checkpoints-dir", ckpt, "--name", "run", *SMALL, "--n-epochs", "1", "--n-epochs-decay", "0"]
        cmd = [MPIEXEC, "-np", "1", tool("cyclegan-train"), "--dataroot", self.data, *args,
               ":", "-np", "1", tool("cyclegan-train"), "--dataroot", self.big, *args]
        start = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertLess(time.time() - start, 30)
        self.assertIn("the ranks do not see the same data: rank 0 has 7 images in A", p.stderr)
        self.assertIn("rank 1 has 40 images in A", p.stderr)

    def check_latest_loads(self, ckpt):
        out = os.path.join(self.tmp, "translated")
        run(tool("cyclegan-translate"), "--checkpoint", os.path.join(ckpt, "run", "latest.safetensors"), "--output", out,
            os.path.join(self.data, "testA"))

    def test_a_rank_that_fails_ends_the_job_and_names_itself(self):
        ckpt = self.dir("ckpt_fail")
        data = os.path.join(self.tmp, "broken")
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(self.big, data)
        self.train(2, data, ckpt, "run", "--n-epochs", "1", "--n-epochs-decay", "0")
        # A PNG whose header is whole (it passes the start-up check) but whose pixels are cut off:
        # only the rank whose share holds it fails, mid-epoch.
        victim = os.path.join(data, "trainA", sorted(os.listdir(os.path.join(data, "trainA")))[17])
        with open(victim, "rb") as f:
            head = f.read(60)
        with open(victim, "wb") as f:
            f.write(head)
        start = time.time()
        p = self.train(2, data, ckpt, "run", "--n-epochs", "3", "--n-epochs-decay", "0", "--continue-train", check=False)
        elapsed = time.time() - start
        self.assertNotEqual(p.returncode, 0)
        self.assertLess(elapsed, 30)
        self.assertRegex(p.stderr, r"error: rank [01] of 2: .*" + os.path.basename(victim))
        self.check_latest_loads(ckpt)

    def test_a_killed_rank_ends_the_job(self):
        ckpt = self.dir("ckpt_kill")
        latest = os.path.join(ckpt, "run", "latest.safetensors")
        p = subprocess.Popen(mpirun(2, "--dataroot", self.big, "--checkpoints-dir", ckpt, "--name", "run", *SMALL,
                                    "--n-epochs", "50", "--n-epochs-decay", "0"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        deadline = time.time() + 120
        while time.time() < deadline and not os.path.exists(latest):
            time.sleep(0.05)
        children = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
        self.assertEqual(len(children), 2, children)
        os.kill(int(children[-1]), signal.SIGKILL)
        start = time.time()
        out, err = p.communicate(timeout=60)
        self.assertLess(time.time() - start, 30)
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(out + err, r"rank [01]")
        self.check_latest_loads(ckpt)


if __name__ == "__main__":
    test_programs.BIN = sys.argv[1]
    MPIEXEC = sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
