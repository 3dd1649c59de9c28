"""The blog post's own script (a Japanese blog post, on Iris), rebuilt as a speed and quality baseline: the blog
recipe as the post runs it (configs/iris.yaml is the same recipe through tabdiff).

Everything here follows the blog line by line — ContinuousNoiseScheduler, q_sample, p_sample,
PositionEmbeddings, ResBlock, Network, criterion, a DataLoader over the full batch, AdamW lr 3e-4 for 5000
epochs, generate_sample with 1000 ancestral steps, inverse StandardScaler and argmax — except that the
device is CPU, the random seed is fixed, and `loss.item()` per epoch is kept (the blog prints every 100 epochs
but still calls `.item()` each batch). No rounding or clipping: that is tabdiff's addition.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import sklearn.datasets
import sklearn.preprocessing
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader


class ContinuousNoiseScheduler:
    """Variance-preserving continuous-time sigmoid schedule (the blog's class)."""

    def __init__(self, stop=0.99996, gain=6, shift=0.5, device="cpu"):
        self.device, self.stop, self.gain, self.shift = device, stop, gain, shift
        y_min, y_max = self.sigmoid(torch.tensor([0, 1]))
        self.y_ratio = torch.as_tensor(stop / (y_max - y_min), device=device)
        self.y_bias = torch.as_tensor(-self.y_ratio * y_min, device=device)

    def gamma(self, t):
        return self.gain * ((2 * t - 1) + self.shift)

    def sigmoid(self, t):
        t = torch.as_tensor(t, device=self.device)
        return 1 / (1 + torch.exp(-self.gamma(t)))

    def get_alpha_bar(self, t):
        return 1 - (self.y_ratio * self.sigmoid(t) + self.y_bias)


def q_sample(x0, ts, sched):
    ab = sched.get_alpha_bar(ts)
    noise = torch.randn_like(x0)
    return torch.sqrt(ab) * x0 + torch.sqrt(1 - ab) * noise, noise


def p_sample(xt, noise_pred, t, s, sched):
    ab, ab_prev = sched.get_alpha_bar(t), sched.get_alpha_bar(s)
    alpha = ab / ab_prev
    beta, beta_bar, beta_bar_prev = 1 - alpha, 1 - ab, 1 - ab_prev
    mu = (xt - (beta / torch.sqrt(beta_bar)) * noise_pred) / torch.sqrt(alpha)
    noise = torch.sqrt(beta * beta_bar_prev / beta_bar) * torch.randn_like(xt) if s > 0 else 0
    return mu + noise


class PositionEmbeddings(nn.Module):
    def __init__(self, dim=10):
        super().__init__()
        half = dim // 2
        self.freqs = torch.exp(torch.arange(half) * -(math.log(10000) / (half - 1)))

    def forward(self, t):
        if t.ndim >= 2:
            t = t.squeeze(dim=-1)
        embed = t[:, None] * self.freqs.to(t.device)[None, :]
        return torch.cat([embed.sin(), embed.cos()], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, dim, dim_out):
        super().__init__()
        self.block1 = nn.Sequential(nn.Linear(dim, dim_out), nn.LayerNorm(dim_out), nn.SiLU())
        self.block2 = nn.Linear(dim_out, dim_out)
        self.residual = nn.Linear(dim, dim_out) if dim != dim_out else nn.Identity()

    def forward(self, x):
        return self.block2(self.block1(x)) + self.residual(x)


class Network(nn.Module):
    def __init__(self, in_dim, hidden_dim=64, tm_dim=64):
        super().__init__()
        self.timestep_encoder = nn.Sequential(PositionEmbeddings(tm_dim), nn.Linear(tm_dim, hidden_dim), nn.GELU(),
                                              nn.Linear(hidden_dim, hidden_dim))
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.SiLU(),
                                     nn.Linear(hidden_dim, hidden_dim))
        self.decoder = nn.Sequential(ResBlock(hidden_dim, hidden_dim), ResBlock(hidden_dim, hidden_dim),
                                     ResBlock(hidden_dim, hidden_dim), nn.Linear(hidden_dim, in_dim))

    def forward(self, x, timestep):
        h = self.encoder(x)
        h += self.timestep_encoder(timestep)
        return self.decoder(h)


def criterion(x0, net, sched):
    t = 1 - torch.rand(len(x0), 1)
    xt, noise_true = q_sample(x0, t, sched)
    net.train()
    return F.mse_loss(net(xt, t), noise_true, reduction="mean")


class BlogRecipeModel:
    """fit(df) / sample(n) with the blog's exact code path on the Iris layout (4 numbers + species)."""

    def __init__(self, epochs: int = 5000, lr: float = 3e-4, n_step: int = 1000, seed: int = 0):
        self.epochs, self.lr, self.n_step, self.seed = epochs, lr, n_step, seed

    def fit(self, df: pd.DataFrame) -> BlogRecipeModel:
        torch.manual_seed(self.seed)
        self.features = [c for c in df.columns if c != "target"]
        self.classes = np.array(sorted(df["target"].unique()))
        onehot = pd.get_dummies(df["target"], dtype=np.float32)[list(self.classes)]
        x = pd.concat([df[self.features], onehot], axis=1)
        self.scaler = sklearn.preprocessing.StandardScaler()
        x = torch.as_tensor(self.scaler.fit_transform(x), dtype=torch.float32)
        self.sched = ContinuousNoiseScheduler()
        self.net = Network(in_dim=x.shape[1])
        loader = DataLoader(x, batch_size=len(x), shuffle=True)
        opt = torch.optim.AdamW(self.net.parameters(), lr=self.lr)
        for _ in range(self.epochs):
            total = 0.0
            for batch in loader:
                opt.zero_grad()
                loss = criterion(batch, self.net, self.sched)
                loss.backward()
                opt.step()
                total += loss.item()
        self.dim = x.shape[1]
        return self

    @torch.no_grad()
    def sample(self, n: int) -> pd.DataFrame:
        torch.manual_seed(self.seed + 1)
        self.net.eval()
        x = torch.randn(n, self.dim)
        for step in range(self.n_step, 0, -1):
            t = torch.tensor(step / self.n_step)
            s = torch.tensor((step - 1) / self.n_step)
            x = p_sample(x, self.net(x, t.view(-1, 1)), t, s, self.sched)
        samples = self.scaler.inverse_transform(x.numpy())
        out = pd.DataFrame(samples[:, : len(self.features)], columns=self.features)
        out["target"] = self.classes[np.argmax(samples[:, len(self.features):], axis=1)]
        return out


def load_iris_frame() -> pd.DataFrame:
    """Iris as in the blog: 4 float features and `target` holding the class names."""
    iris = sklearn.datasets.load_iris(as_frame=True)
    return iris.data.assign(target=pd.Series(iris.target_names[iris.target], name="target").to_numpy())
