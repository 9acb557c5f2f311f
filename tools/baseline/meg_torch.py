#!/usr/bin/python3
"""PyTorch (CPU) baseline of one MEG iteration and of latent MALA.

This is the reference our Vulkan implementation's speed is compared against
(tools/compare-baseline), and, with --quality, the calibration curve of the
reference algorithm on 8gaussians. It follows Algorithm 1 of the seed
(shared/seed/meg-thesis.md, section 2.3) and docs/DESIGN.md "MEG in one page".

THREADS. Debian's torch is built with OpenMP and calls BLAS through
libblas.so.3, which is OpenBLAS's own pthread pool (libopenblas0-pthread).
With torch.set_num_threads(cores) the two pools fight for the cores: OpenMP's
workers spin after each elementwise op while OpenBLAS wants the same cores,
and a 256x512x512 addmm falls from ~64 to 11-32 GFLOP/s on 2 cores. Measured
here (2 cores): width 128 8-11 it/s with torch threads = 2 against 32-33 with
torch threads = 1; width 512 0.6-1.2 against 1.7-3.1; MALA 6-18 against
47-50 steps/s. So by default the matmuls get all the cores (OpenBLAS threads
= --threads = cores) and torch's OpenMP pool gets one thread
(--torch-threads 1). --torch-threads N restores torch.set_num_threads(N);
OMP_WAIT_POLICY=PASSIVE then recovers most of the loss.
The image networks' convolutions go through oneDNN (MKL-DNN), which runs on
torch's OpenMP pool, not OpenBLAS's (the transposed ones and the linear
layers take the BLAS path), so with --torch-threads 1 they run on one core.
Measured here under load from other work (2 cores, width 64, it/s): torch
threads 1 0.9-1.7, torch threads 2 0.14 (spinning), torch threads 2 with
OMP_WAIT_POLICY=PASSIVE 1.9-2.1; at width 128 both 0.5-1.7 (noise). The
default stays 1, as for the toy networks; on an idle machine compare with
OMP_WAIT_POLICY=PASSIVE and --torch-threads 2.

Run it with Debian's /usr/bin/python3 (tools/baseline/install installs
python3-torch and the threaded OpenBLAS it must use).

Modes (each prints JSON, one object per line):
  --mode train    its_per_s of the MEG iteration (n_energy energy updates, then
                  one generator + statistics update); with an image set
                  (--data mnist, fashion, stackedmnist3, stackedmnist4, or
                  --image-channels C) the convolutional networks of
                  models/meg_image.c (see IMAGES)
  --mode mala     steps_per_s of latent MALA on U(z) = E(G(z)) + ||z||^2/2
  --quality N     train N iterations on 8gaussians (width 128 unless --width),
                  evaluating every --eval-every iterations

IMAGES. The iteration our C code runs on 28 x 28 images with C channels
(models/meg_image.c, build_step in models/meg.c), width w (512 in the paper):
  G: Linear(z, 2*2*w) -> 4 x [BatchNorm2d (training mode), ReLU,
     ConvTranspose2d 5x5 stride 2 padding 2, output padding 1, 0, 1, 1]
     w -> w/2 -> w/4 -> w/8 -> C (2 -> 4 -> 7 -> 14 -> 28) -> tanh
  E: 4 x [Conv2d 5x5 stride 2 padding 2, LeakyReLU 0.2] C -> w/8 -> w/4 ->
     w/2 -> w (28 -> 14 -> 7 -> 4 -> 2) -> flatten -> Linear(4w, 1)
  T(x, z): E's trunk -> Linear(4w, zdim), concatenated with z ->
     Linear(2 zdim, w) -> LeakyReLU 0.2 -> Linear(w, 1)
Convolution weights N(0, 0.02) with zero biases, batch-norm scales N(1, 0.02),
linear layers PyTorch's default. The defaults become the seed's image profile
(width 512, batch 64, zdim 128, lambda 10, 5 energy updates); the penalty is
||dE/dx||^2 summed over all C*H*W values (--penalty-norm channel: divided by
H*W, the authors' code). The "data" are --data-size (default 10000) random
images, uniform in [-1, 1]: this mode times the iteration, it does not learn
MNIST. G stays in training mode throughout, so its batch norm uses the
batch's statistics (and updates the running ones) in the energy updates too,
as ours does.
"""
import argparse
import json
import math
import os
import sys
import time


# image sets by name -> channels (the images themselves are random here)
IMAGE_SETS = {"mnist": 1, "fashion": 1, "stackedmnist3": 3, "stackedmnist4": 4}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["train", "mala"], default="train")
    p.add_argument("--data", choices=["25gaussians", "8gaussians"] + list(IMAGE_SETS), default=None,
                   help="toy data set (default 25gaussians; 8gaussians with --quality), or an image set's name "
                        "for its channel count (random images: see IMAGES)")
    p.add_argument("--image-channels", type=int, default=None, metavar="C",
                   help="train on random 28 x 28 images with C channels (the convolutional networks)")
    p.add_argument("--data-size", type=int, default=None,
                   help="points (default 100000) or images (default 10000) in the fixed data set")
    p.add_argument("--width", type=int, default=None, help="hidden width (default 512; 128 with --quality)")
    p.add_argument("--zdim", type=int, default=None, help="latent dimension (default 2; 128 for images)")
    p.add_argument("--batch", type=int, default=None, help="batch (default 256; 64 for images)")
    p.add_argument("--n-energy", type=int, default=5, help="energy updates per generator update")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--beta1", type=float, default=0.5)
    p.add_argument("--beta2", type=float, default=0.9)
    p.add_argument("--lam", type=float, default=None,
                   help="gradient penalty coefficient lambda (default 0.1; 10 for images)")
    p.add_argument("--penalty-norm", choices=["paper", "channel"], default="paper",
                   help="images: ||dE/dx||^2 over all values (paper) or divided by H*W (channel)")
    p.add_argument("--shuffle", choices=["dim", "row"], default="dim",
                   help="latent shuffle for the product of marginals: each dimension independently (dim) "
                        "or whole rows (row)")
    p.add_argument("--iters", type=int, default=20, help="timed training iterations")
    p.add_argument("--warmup", type=int, default=2, help="untimed iterations (train) or steps (mala) first")
    p.add_argument("--chains", type=int, default=256)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--step-size", type=float, default=0.01, help="MALA step size a")
    p.add_argument("--no-prior", action="store_true", help="MALA: U(z) = E(G(z)) without ||z||^2/2")
    p.add_argument("--quality", type=int, default=0, metavar="N",
                   help="train N iterations on 8gaussians and report sample quality")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--eval-samples", type=int, default=10000)
    p.add_argument("--threads", type=int, default=None,
                   help="threads: OpenBLAS's pool, which runs the matmuls (default: cores)")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch.set_num_threads: torch's own OpenMP intra-op threads (elementwise ops); "
                        "default 1 (see THREADS in the description)")
    p.add_argument("--check", action="store_true",
                   help="train: print each iteration's losses (JSON, to stderr) and fail when one is not finite")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu",
                   help="torch device: cpu (default) or cuda (a GPU machine's torch 2.x: every tensor and "
                        "network made there, the clock read after torch.cuda.synchronize())")
    a = p.parse_args(argv)
    if a.quality and a.device != "cpu":
        p.error("--quality runs on the CPU only")
    a.channels = IMAGE_SETS.get(a.data, 0)
    if a.image_channels is not None:
        if a.image_channels < 1:
            p.error("--image-channels must be >= 1")
        if a.channels and a.channels != a.image_channels:
            p.error("--data %s has %d channels, not --image-channels %d" % (a.data, a.channels, a.image_channels))
        a.channels = a.image_channels
    image = a.channels > 0
    if image and (a.mode != "train" or a.quality):
        p.error("image networks: only --mode train (no --quality, no MALA)")
    if image and a.data is None:
        a.data = "images%d" % a.channels
    if a.zdim is None:
        a.zdim = 128 if image else 2
    if a.batch is None:
        a.batch = 64 if image else 256
    if a.lam is None:
        a.lam = 10.0 if image else 0.1
    if a.data_size is None:
        a.data_size = 10000 if image else 100000
    if image and (a.width is not None and (a.width < 8 or a.width % 8)):
        p.error("image networks: --width must be a multiple of 8")
    if a.threads is None:
        try:
            a.threads = len(os.sched_getaffinity(0))
        except AttributeError:
            a.threads = os.cpu_count() or 1
    if a.width is None:
        a.width = 128 if a.quality else 512
    if a.data is None:
        a.data = "8gaussians" if a.quality else "25gaussians"
    return a


ARGS = parse_args(sys.argv[1:])
# OpenBLAS (Debian's torch calls it through libblas.so.3) keeps its own thread
# pool: size it before torch loads it.
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_NUM_THREADS"] = str(ARGS.torch_threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def blas_report():
    """What torch reports (build config) and the BLAS library actually mapped."""
    a = torch.randn(64, 64)
    (a @ a).sum().item()
    info = [s for s in torch.__config__.show().replace(",", " ").split() if s.startswith("BLAS_INFO=")]
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and "blas" in os.path.basename(parts[5]):
                    libs.add(parts[5])
    except OSError:
        pass
    real = sorted(l for l in libs if "openblas" in os.path.basename(l)) or sorted(libs)
    return "%s -> %s" % (info[0] if info else "BLAS_INFO=?", ", ".join(real) or "none mapped")


# ---------------------------------------------------------------- data sets

def toy_data(name, n, gen):
    if name == "25gaussians":
        grid = torch.arange(-4.0, 4.0 + 1e-9, 2.0)
        centers = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
        std, scale = 0.05, 2.828
    else:  # 8gaussians
        s = 1.0 / math.sqrt(2.0)
        centers = 2.0 * torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1], [s, s], [s, -s], [-s, s], [-s, -s]],
                                     dtype=torch.float32)
        std, scale = 0.02, 1.414
    idx = torch.randint(len(centers), (n,), generator=gen)
    x = centers[idx] + std * torch.randn(n, 2, generator=gen)
    return x / scale, centers / scale, std / scale


# ---------------------------------------------------------------- networks

def mlp(n_in, width, n_out, act):
    layers, d = [], n_in
    for _ in range(3):
        layers += [nn.Linear(d, width), act()]
        d = width
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def build(zdim, width):
    leaky = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    E = mlp(2, width, 1, leaky)
    G = mlp(zdim, width, 2, nn.ReLU)
    T = mlp(2 + zdim, width, 1, leaky)
    return E, G, T


# ---------------------------------------------------------------- image networks

IMAGE_SIZE = 28
OUT_PAD = (1, 0, 1, 1)  # G's upsamplings: 2 -> 4 -> 7 -> 14 -> 28
CONV_STD = 0.02


def conv_init(layer):
    nn.init.normal_(layer.weight, 0.0, CONV_STD)
    nn.init.zeros_(layer.bias)
    return layer


def trunk(C, w):
    """E's (and T's) 4 x [5x5 stride-2 conv, LeakyReLU 0.2]: [N, C, 28, 28] -> [N, 4w]."""
    ch = [C, w // 8, w // 4, w // 2, w]
    layers = []
    for i in range(4):
        layers += [conv_init(nn.Conv2d(ch[i], ch[i + 1], 5, stride=2, padding=2)), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Flatten())


class ImageG(nn.Module):
    def __init__(self, zdim, w, C):
        super().__init__()
        self.w = w
        self.inp = nn.Linear(zdim, 4 * w)
        ch = [w, w // 2, w // 4, w // 8, C]
        layers = []
        for i in range(4):
            bn = nn.BatchNorm2d(ch[i], eps=1e-5, momentum=0.1)
            nn.init.normal_(bn.weight, 1.0, CONV_STD)
            nn.init.zeros_(bn.bias)
            layers += [bn, nn.ReLU(),
                       conv_init(nn.ConvTranspose2d(ch[i], ch[i + 1], 5, stride=2, padding=2,
                                                    output_padding=OUT_PAD[i]))]
        self.body = nn.Sequential(*layers)

    def forward(self, z):
        return torch.tanh(self.body(self.inp(z).view(z.shape[0], self.w, 2, 2)))


class ImageT(nn.Module):
    def __init__(self, zdim, w, C):
        super().__init__()
        self.trunk = nn.Sequential(trunk(C, w), nn.Linear(4 * w, zdim))
        self.head = nn.Sequential(nn.Linear(2 * zdim, w), nn.LeakyReLU(0.2), nn.Linear(w, 1))

    def forward(self, x, z):
        return self.head(torch.cat([self.trunk(x), z], 1))


def build_image(zdim, width, C):
    E = nn.Sequential(trunk(C, width), nn.Linear(4 * width, 1))
    return E, ImageG(zdim, width, C), ImageT(zdim, width, C)


def random_images(n, C, gen):
    """n random images in [-1, 1] (timing only: the iteration's cost does not depend on the pixels)."""
    return torch.rand(n, C, IMAGE_SIZE, IMAGE_SIZE, generator=gen) * 2 - 1


def adam(params, a):
    return torch.optim.Adam(params, lr=a.lr, betas=(a.beta1, a.beta2))


class MEG:
    def __init__(self, a, data):
        self.a = a
        self.data = data
        self.image = a.channels > 0
        if self.image:
            self.E, self.G, self.T = build_image(a.zdim, a.width, a.channels)
            self.stat = self.T  # T(x, z)
        else:
            self.E, self.G, self.T = build(a.zdim, a.width)
            self.stat = lambda x, z: self.T(torch.cat([x, z], 1))  # noqa: E731
        # G is never switched to evaluation mode: its batch norm (images) uses
        # the batch's statistics in every update, as ours does.
        self.G.train()
        self.optE = adam(self.E.parameters(), a)
        self.optG = adam(self.G.parameters(), a)
        self.optT = adam(self.T.parameters(), a)
        self.g_params = list(self.G.parameters())
        self.t_params = list(self.T.parameters())
        self.last = None  # loss tensors of the latest iteration (read only when reporting)

    def shuffle(self, z):
        B = z.shape[0]
        if self.a.shuffle == "row":
            return z[torch.randperm(B)]
        # each latent dimension permuted independently across the batch
        perm = torch.argsort(torch.rand(B, z.shape[1]), dim=0)
        return torch.gather(z, 0, perm)

    def energy_step(self):
        a, E = self.a, self.E
        B = a.batch
        x = self.data[torch.randint(len(self.data), (B,))].requires_grad_(True)
        z = torch.randn(B, a.zdim)
        with torch.no_grad():  # same as G(z).detach(), without recording G's graph
            xg = self.G(z)
        ex = E(x)
        (gx,) = torch.autograd.grad(ex.sum(), x, create_graph=True)
        # ||dE/dx||^2 of each sample over all its values (C*H*W for images)
        pen = (gx ** 2).flatten(1).sum(1).mean()
        if self.image and a.penalty_norm == "channel":
            pen = pen / (IMAGE_SIZE * IMAGE_SIZE)
        loss = ex.mean() - E(xg).mean() + a.lam * pen
        self.optE.zero_grad(set_to_none=True)
        loss.backward()
        self.optE.step()
        return loss

    def generator_step(self):
        a = self.a
        B = a.batch
        z = torch.randn(B, a.zdim)
        x = self.G(z)
        zs = self.shuffle(z)
        t_joint = self.stat(x, z)
        t_marg = self.stat(x, zs)
        loss_h = F.softplus(-t_joint).mean() + F.softplus(t_marg).mean()
        loss_g = self.E(x).mean() + loss_h
        # One backward pass: E(x).mean() does not depend on T's parameters, so
        # d L_G / d phi == d L_H / d phi; E's parameter gradients are not asked
        # for (E is not updated here).
        grads = torch.autograd.grad(loss_g, self.g_params + self.t_params)
        for p, g in zip(self.g_params + self.t_params, grads):
            p.grad = g
        self.optG.step()
        self.optT.step()
        return loss_g, loss_h

    def iteration(self):
        for _ in range(self.a.n_energy):
            le = self.energy_step()
        lg, lh = self.generator_step()
        self.last = (le, lg, lh)


# ---------------------------------------------------------------- modes

def common_fields(a):
    f = {"threads": a.threads, "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
         "device": a.device}
    if a.device == "cpu":
        f["blas"] = blas_report()
    else:
        f["gpu"] = torch.cuda.get_device_name()
    return f


def sync(a):
    """Waits for the device's queued work, so that the clock measures it."""
    if a.device != "cpu":
        torch.cuda.synchronize()


def on_cpu(a, make):
    """make() with CPU tensors (its seeded CPU generator), then moved to a.device."""
    if a.device == "cpu":
        return make()
    with torch.device("cpu"):
        t = make()
    return t.to(a.device)


def check_losses(meg, it, timed):
    """--check: the iteration's losses to stderr; exits 1 when one is not finite."""
    le, lg, lh = (t.item() for t in meg.last)
    r = {"iter": it, "timed": timed, "loss_e": le, "loss_g": lg, "loss_h": lh}
    print(json.dumps(r), file=sys.stderr, flush=True)
    if not all(math.isfinite(v) for v in (le, lg, lh)):
        print("meg_torch.py: iteration %d: a loss is not finite" % it, file=sys.stderr)
        sys.exit(1)


def mode_train(a):
    gen = torch.Generator().manual_seed(a.seed + 1)
    if a.channels:
        data = on_cpu(a, lambda: random_images(a.data_size, a.channels, gen))
    else:
        data = on_cpu(a, lambda: toy_data(a.data, a.data_size, gen)[0])
    meg = MEG(a, data)
    for i in range(a.warmup):
        meg.iteration()
        if a.check:
            check_losses(meg, i + 1, False)
    # --check reads the losses after each iteration (outside the iteration,
    # but inside the timed span: its cost is one .item() per loss)
    sync(a)
    t0 = time.perf_counter()
    for i in range(a.iters):
        meg.iteration()
        if a.check:
            check_losses(meg, a.warmup + i + 1, True)
    sync(a)
    dt = time.perf_counter() - t0
    out = {"mode": "train", "data": a.data, "width": a.width, "zdim": a.zdim, "batch": a.batch,
           "n_energy": a.n_energy, "iters": a.iters, "seconds": round(dt, 4),
           "its_per_s": a.iters / dt}
    if a.channels:
        out.update({"channels": a.channels, "lambda": a.lam, "penalty_norm": a.penalty_norm,
                    "images": "random"})
    out.update(common_fields(a))
    print(json.dumps(out), flush=True)


def mode_mala(a):
    E, G, _ = build(a.zdim, a.width)
    for p in list(E.parameters()) + list(G.parameters()):
        p.requires_grad_(False)
    C, alpha = a.chains, a.step_size
    prior = not a.no_prior

    def U_and_grad(z):
        z = z.detach().requires_grad_(True)
        u = E(G(z)).squeeze(1)
        if prior:
            u = u + 0.5 * (z * z).sum(1)
        (g,) = torch.autograd.grad(u.sum(), z)
        return u.detach(), g

    def log_q(b, a_, grad_a):  # log q(b | a), up to a constant
        d = b - a_ + alpha * grad_a
        return -(d * d).sum(1) / (4 * alpha)

    z = torch.randn(C, a.zdim)
    u, g = U_and_grad(z)  # cached for the current state
    accepted = torch.zeros(())
    noise = math.sqrt(2 * alpha)

    def step(z, u, g):
        zp = z - alpha * g + noise * torch.randn_like(z)
        up, gp = U_and_grad(zp)
        log_r = -up + u + log_q(z, zp, gp) - log_q(zp, z, g)
        acc = torch.log(torch.rand(C)) < log_r
        m = acc.unsqueeze(1)
        return torch.where(m, zp, z), torch.where(acc, up, u), torch.where(m, gp, g), acc

    for _ in range(a.warmup):
        z, u, g, _ = step(z, u, g)
    sync(a)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        z, u, g, acc = step(z, u, g)
        accepted = accepted + acc.float().mean()
    sync(a)
    dt = time.perf_counter() - t0
    out = {"mode": "mala", "width": a.width, "zdim": a.zdim, "chains": C, "steps": a.steps,
           "step_size": alpha, "prior": prior, "seconds": round(dt, 4), "steps_per_s": a.steps / dt,
           "acceptance": accepted.item() / max(a.steps, 1)}
    out.update(common_fields(a))
    print(json.dumps(out), flush=True)


def evaluate(meg, centers, std, n):
    """Modes captured, share of high-quality samples, KL(mode histogram || uniform)."""
    with torch.no_grad():
        x = meg.G(torch.randn(n, meg.a.zdim))
    d = torch.cdist(x, centers)  # [n, M]
    dmin, nearest = d.min(1)
    hq = dmin <= 3 * std
    M = len(centers)
    counts = torch.bincount(nearest[hq], minlength=M).double()
    modes = int((counts >= 0.01 * n).sum().item())
    n_hq = counts.sum().item()
    kl = None  # no high-quality sample: undefined (JSON null)
    if n_hq > 0:
        p = counts / n_hq
        nz = p > 0
        kl = float((p[nz] * torch.log(p[nz] * M)).sum().item())
    # how far the samples sit from their nearest mode (the 3-std radius is tight)
    q = torch.quantile(dmin, torch.tensor([0.5, 0.9], dtype=dmin.dtype))
    return {"modes": modes, "n_modes": M, "hq_share": n_hq / n, "kl": kl,
            "dist_median": q[0].item(), "dist_p90": q[1].item(),
            "finite": bool(torch.isfinite(x).all().item())}


def mode_quality(a):
    gen = torch.Generator().manual_seed(a.seed + 1)
    data, centers, std = toy_data(a.data, a.data_size, gen)
    meg = MEG(a, data)
    t0 = time.perf_counter()
    for it in range(1, a.quality + 1):
        meg.iteration()
        if it % a.eval_every == 0 or it == a.quality:
            r = {"mode": "quality", "data": a.data, "width": a.width, "lr": a.lr, "shuffle": a.shuffle,
                 "iter": it}
            r.update(evaluate(meg, centers, std, a.eval_samples))
            le, lg, lh = meg.last
            r.update({"loss_e": le.item(), "loss_g": lg.item(), "loss_h": lh.item(),
                      "elapsed_s": round(time.perf_counter() - t0, 1), "radius_3std": 3 * std})
            print(json.dumps(r), flush=True)


def main():
    a = ARGS
    torch.set_num_threads(a.torch_threads)
    torch.manual_seed(a.seed)
    if a.device != "cpu":
        # torch 2.x: factories and modules default to the GPU
        torch.set_default_device(a.device)
    if a.quality:
        mode_quality(a)
    elif a.mode == "train":
        mode_train(a)
    else:
        mode_mala(a)


if __name__ == "__main__":
    main()
