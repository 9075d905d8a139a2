"""Loss functions as small pure functions: tensors in, scalar tensor out.

Every function averages over the batch, computes in float32 (so that bf16 autocast never
evaluates a log, exp or softplus in bf16), and takes *logits* rather than probabilities where the
paper's network ends in a sigmoid: ``-log sigmoid(t) = softplus(-t)`` is the numerically stable
form of the same quantity.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

LOG_2PI = math.log(2.0 * math.pi)


def _check_same_shape(reconstruction: Tensor, target: Tensor) -> None:
    """Reconstruction losses never broadcast: a shape mismatch is a bug worth a clear message."""
    if reconstruction.shape != target.shape:
        raise ValueError(f"reconstruction and target differ in shape: {tuple(reconstruction.shape)} vs "
                         f"{tuple(target.shape)}")


def gan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator loss of the original GAN value function (aim.txt eq. 7, Algorithm 1 L_d).

    ``L_d = -1/n sum log D(x) - 1/n sum log(1 - D(G(z)))`` with ``D = sigmoid(logits)``.
    """
    real_term = F.softplus(-real_logits.float()).mean()
    fake_term = F.softplus(fake_logits.float()).mean()
    return real_term + fake_term


def gan_generator_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss ``-1/n sum log D(G(z))`` (aim.txt §4.4, Algorithm 1 L_g)."""
    return F.softplus(-fake_logits.float()).mean()


def reverse_kl_generator_loss(logits: Tensor) -> Tensor:
    """Batch mean of ``R(x) = -log D(x) + log(1 - D(x))`` (alpha_gan.txt Algorithm 1 lines 3-4, eq. 9).

    The 'reverse KL' non-saturating loss of a generator (G against D, or E against C). With
    ``D = sigmoid(t)`` it is exactly ``-t``: ``-log D(x) + log(1 - D(x)) = -log(D / (1 - D)) = -logit``.
    """
    return -logits.float().mean()


def alpha_gan_discriminator_loss(real_logits: Tensor, reconstruction_logits: Tensor,
                                 sample_logits: Tensor) -> Tensor:
    """alpha_gan.txt Algorithm 1 eq. (15): data real, reconstructions and samples both fake.

    ``mean[-log D(x) - log(1 - D(x^))] + mean[-log(1 - D(G(z)))]``, each term a batch mean.
    """
    return gan_discriminator_loss(real_logits, reconstruction_logits) + F.softplus(sample_logits.float()).mean()


def empirical_kl(z: Tensor) -> Tensor:
    """Batch estimate of KL(q(z|x) || N(0, I)) of alpha_gan.txt Appendix D eq. (18), divided by the
    latent size n ('we divide the approximation in (18) by the latent size').

    ``1/n [sum_i ((s_i^2 + m_i^2) / 2 - log s_i) - n/2]`` with m_i, s_i the mean and standard
    deviation of latent dimension i over the batch (biased, i.e. the batch's own moments).
    """
    # s_i is read as the standard deviation: (18) is then the Gaussian KL (the text calls s_i the variance).
    # (18) prints '+ n/2'; the Gaussian KL has '- n/2' (zero at the prior). A constant: gradients are equal.
    if z.ndim != 2 or z.size(0) < 2:
        raise ValueError(f"empirical_kl needs a (batch >= 2, latent) tensor, got shape {tuple(z.shape)}")
    z = z.float()
    mean = z.mean(dim=0)
    variance = z.var(dim=0, unbiased=False).clamp_min(1e-12)  # clamp: a collapsed batch stays finite
    per_dim = 0.5 * (variance + mean.pow(2)) - 0.5 * torch.log(variance) - 0.5
    return per_dim.mean()


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """WGAN critic loss without its penalty (Gulrajani et al. 2017, eq. 3 / Algorithm 1 line 7):
    ``E[D(x~)] - E[D(x)]``, batch means; the critic's output activation is the identity."""
    return fake_scores.float().mean() - real_scores.float().mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """WGAN generator loss ``-E[D(G(z))]`` (Gulrajani et al. 2017, Algorithm 1 line 11)."""
    return -fake_scores.float().mean()


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     epsilon: Tensor | None = None) -> Tensor:
    """The WGAN-GP penalty ``E[(||grad_x^ D(x^)||_2 - 1)^2]`` (Gulrajani et al. 2017, eq. 3, Algorithm 1 lines 4-7).

    ``x^ = eps x + (1 - eps) x~`` with ``eps ~ U[0, 1]`` drawn once per sample (or given, shape ``(n,)``
    or broadcastable to ``real``); the norm is over all of a sample's elements, the mean over the batch.
    Computed in float32 with autocast disabled (the input gradient of a bf16 critic is too coarse to
    penalise), with ``create_graph=True`` so that minimising the penalty reaches the critic's weights.
    ``real`` and ``fake`` are detached: the penalty trains the critic only. The critic must treat
    samples independently (no BatchNorm), or the per-sample gradient norms are meaningless.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake differ in shape: {tuple(real.shape)} vs {tuple(fake.shape)}")
    real, fake = real.detach().float(), fake.detach().float()
    if epsilon is None:
        epsilon = torch.rand(real.size(0), device=real.device)
    epsilon = epsilon.float()
    if epsilon.ndim == 1:
        epsilon = epsilon.reshape(-1, *([1] * (real.ndim - 1)))
    interpolates = (epsilon * real + (1.0 - epsilon) * fake).requires_grad_(True)
    with torch.autocast(device_type=interpolates.device.type, enabled=False):
        scores = critic(interpolates).float()
        (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        norms = torch.linalg.vector_norm(gradients.flatten(1), dim=1)
    return (norms - 1.0).pow(2).mean()


def _bounded_scores(scores: Tensor, max_score: float | None) -> Tensor:
    """``min(scores, max_score)`` in float32; ``max_score=None`` leaves the scores unbounded."""
    scores = scores.float()
    return scores if max_score is None else scores.clamp(max=float(max_score))


def fgan_kl_discriminator_loss(real_scores: Tensor, fake_scores: Tensor, max_score: float | None = None) -> Tensor:
    """Negated f-GAN KL value function, minimised by D (dali.txt eq. 8, aim.txt eq. 6).

    ``V(G, D) = E_q[D(x)] + E_p[-exp(D(G(z)) - 1)]``; D maximises V, so its loss is ``-V``.
    D's output activation is the identity here, not a sigmoid. ``max_score``, if given, bounds every
    score from above, ``D -> min(D, max_score)``, before V is evaluated (an output activation bounded
    above, which keeps ``exp(D - 1)`` finite and stops D's scores on uncovered data from growing forever).
    """
    real, fake = _bounded_scores(real_scores, max_score), _bounded_scores(fake_scores, max_score)
    return -(real.mean() - torch.exp(fake - 1.0).mean())


def fgan_kl_generator_loss(fake_scores: Tensor, max_score: float | None = None) -> Tensor:
    """DALI-f generator loss ``E_p[-D(G(z))]`` (dali.txt §3.4, the non-vanishing-gradient form);
    ``max_score`` bounds the scores as in :func:`fgan_kl_discriminator_loss`."""
    return -_bounded_scores(fake_scores, max_score).mean()


def fgan_kl_minimax_generator_loss(fake_scores: Tensor, max_score: float | None = None) -> Tensor:
    """DALI-f generator loss in minimax form: G minimises V(G, D) itself, ``E_p[-exp(D(G(z)) - 1)]``.

    The term of dali.txt eq. (8) that depends on G, as the authors' code trains it (alexanderhanboli/AIM,
    ``LAI_mix_gaussian_fGAN.py``: ``G_loss = mean(-exp(D_fake - 1))``), instead of §3.4's ``E_p[-D(G(z))]``
    (:func:`fgan_kl_generator_loss`). Its gradient ``-exp(D - 1) grad D`` weights each sample by the
    estimated density ratio q/p = exp(D - 1) at the optimal D: samples where D is very negative (far from
    the data) get almost no push, samples on under-covered modes the strongest.

    ``max_score``, if given, clamps the scores from above before the exponential (``min(D, max_score)``),
    bounding ``exp(D - 1)`` by ``exp(max_score - 1)``; samples above the bound then get no gradient
    (as in :func:`fgan_kl_discriminator_loss`).
    """
    return -torch.exp(_bounded_scores(fake_scores, max_score) - 1.0).mean()


def joint_generator_loss(encoder_logits: Tensor, generator_logits: Tensor) -> Tensor:
    """Non-saturating loss of ALI's generator and encoder (Dumoulin et al. 2016; the ALI / ALICE code).

    The discriminator's labels swapped: ``-1/n sum log(1 - D(x, E(x))) - 1/n sum log D(G(z), z)``, with
    ``D = sigmoid(logits)``; ``encoder_logits`` on the pairs (x, E(x)), ``generator_logits`` on (G(z), z).
    """
    return F.softplus(encoder_logits.float()).mean() + F.softplus(-generator_logits.float()).mean()


def density_ratio_generator_loss(generator_logits: Tensor) -> Tensor:
    """VEEGAN's adversarial term of O^ (Srivastava et al. 2017, Algorithm 1): ``1/n sum D(z, G(z))``.

    D's logit estimates log[q(x|z) p(z) / (p(z|x) p(x))] (generator pairs over reconstructor pairs), so
    the batch mean of the raw logits on generator pairs estimates the KL term the generator minimises.
    """
    return generator_logits.float().mean()


def squared_l2_reconstruction(reconstruction: Tensor, target: Tensor) -> Tensor:
    """``1/n sum_i ||target_i - reconstruction_i||_2^2``: the squared l2 distance summed over the
    features of each sample, averaged over the batch (VEEGAN's d(z, F(G(z))), Algorithm 1)."""
    _check_same_shape(reconstruction, target)
    return (reconstruction.float() - target.float()).pow(2).flatten(1).sum(dim=1).mean()


def l2_reconstruction(reconstruction: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over every element (``tf.reduce_mean(tf.pow(rec_x - x, 2))`` of the ALICE
    code): ALICE's explicit l2 cycle-consistency term ``||x - G(E(x))||^2`` per element, batch mean."""
    _check_same_shape(reconstruction, target)
    return (reconstruction.float() - target.float()).pow(2).mean()


def cosine_distance(a: Tensor, b: Tensor) -> Tensor:
    """``1/n sum_i (1 - cos(a_i, b_i))``: AGE's code reconstruction loss (alpha_gan.txt H.2), in [0, 2].

    The AGE code's 'cos' match returns ``2 - mean(a_hat * b_hat)`` over all n * M elements, i.e.
    ``1 + (1 - cos) / M`` per sample: the same gradient as this distance divided by the latent size M.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"cosine_distance needs two (batch, latent) tensors of one shape, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    return (1.0 - F.cosine_similarity(a.float(), b.float(), dim=1, eps=1e-8)).mean()


def gaussian_nll(z: Tensor, mean: Tensor, log_variance: Tensor) -> Tensor:
    """Negative log-likelihood of z under N(mean, diag(exp(log_variance))), batch mean.

    aim.txt eq. (8) / dali.txt eq. (9):
    ``L(z, mu, sigma^2) = 1/2 sum_j ((z_j - mu_j)^2 / sigma_j^2 + log sigma_j^2 + log 2 pi)``,
    summed over the d latent dimensions and averaged over the batch.
    """
    z, mean, log_variance = z.float(), mean.float(), log_variance.float()
    per_dim = (z - mean).pow(2) * torch.exp(-log_variance) + log_variance + LOG_2PI
    return 0.5 * per_dim.sum(dim=1).mean()


def unit_gaussian_nll(z: Tensor, mean: Tensor) -> Tensor:
    """``gaussian_nll`` with identity covariance: AIM- / DALI-l2 (aim.txt §5.1, dali.txt §4.1).

    ``1/2 sum_j ((z_j - mu_j)^2 + log 2 pi)``: a squared l2 distance plus a constant.
    """
    per_dim = (z.float() - mean.float()).pow(2) + LOG_2PI
    return 0.5 * per_dim.sum(dim=1).mean()


def standard_normal_kl(mean: Tensor, log_variance: Tensor) -> Tensor:
    """KL(N(mean, diag exp(log_variance)) || N(0, I)), summed over the latent dimensions, batch mean.

    ``1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)``: the VAE's prior term L_prior in closed form
    (Kingma & Welling 2013, Appendix B), as VAE/GAN uses it (Larsen et al. 2016, §2.1).
    """
    mean, log_variance = mean.float(), log_variance.float()
    per_dim = mean.pow(2) + torch.exp(log_variance) - log_variance - 1.0
    return 0.5 * per_dim.flatten(1).sum(dim=1).mean()


def feature_gaussian_nll(reconstruction_features: Tensor, features: Tensor) -> Tensor:
    """``-log N(features | reconstruction_features, I)`` without its constant, summed over each sample's
    features, batch mean: ``1/2 sum_j (f_j - f~_j)^2``.

    VAE/GAN's L_llike^Dis_l (Larsen et al. 2016, 'Beyond element-wise reconstruction'): the Gaussian
    likelihood of the discriminator's l-th layer features of x, ``features``, given those of the
    reconstruction, ``reconstruction_features``, with identity covariance. The dropped constant
    ``(m / 2) log 2 pi`` (m features) has no gradient. Shapes must match exactly.
    """
    return 0.5 * squared_l2_reconstruction(reconstruction_features, features)


def hinge_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Hinge loss of the discriminator (Miyato et al. 2018, eq. 16; Lim & Ye 2017):
    ``L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]``. G's side is ``-E[D(G(z))]`` (their eq. 17),
    :func:`wasserstein_generator_loss`."""
    return F.relu(1.0 - real_scores.float()).mean() + F.relu(1.0 + fake_scores.float()).mean()


def least_squares_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """LSGAN discriminator loss with the 0-1 coding a = 0, b = 1 (Mao et al. 2017, eq. 2).

    ``L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]``; D's output activation is the identity.
    Used by IVLSGAN (ivgan.txt §3, 'the least square loss in LSGAN') and the LSGAN baseline.
    """
    return 0.5 * (real_scores.float() - 1.0).pow(2).mean() + 0.5 * fake_scores.float().pow(2).mean()


def least_squares_generator_loss(fake_scores: Tensor) -> Tensor:
    """LSGAN generator loss with c = 1 (Mao et al. 2017, eq. 2): ``L_G = 1/2 E[(D(G(z)) - 1)^2]``."""
    return 0.5 * (fake_scores.float() - 1.0).pow(2).mean()


def intervention_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """V_class of ivgan.txt eq. (3): ``E_i E_{x'~p_i} -e_i^T log f(x')``, batch mean.

    The cross entropy of the classifier f (softmax over the k interventions, given as logits) on
    intervened samples x'_j with labels i_j. The classifier *minimises* it (Algorithm 1, line 12:
    ascent on sum_j log f_{i_j}(x'_j)).
    """
    return F.cross_entropy(logits.float(), labels)


def intervention_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """The intervention loss L_IV(G, E) = -min_f V_class of ivgan.txt eq. (3), at the current f.

    The *negative* cross entropy, which G and E minimise (Algorithm 1 lines 15 and 17, eq. 6), i.e.
    they maximise the classifier's cross entropy: by Theorem 1, L_IV = JS(p_1, ..., p_k) - log k at
    the optimal f, so minimising it makes the k intervened distributions alike.
    """
    return -intervention_cross_entropy(logits, labels)


def l1_reconstruction(reconstruction: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error: the l1 norm ``||reconstruction - target||_1`` divided by the number of
    elements of one sample, averaged over the batch (PyTorch's ``nn.L1Loss``).

    The data reconstruction term of alpha_gan.txt Algorithm 1 (eqs. 11, 13) and both terms of
    ivgan.txt eq. (5). The per-element mean keeps the term O(1) whatever the image size, which is
    the scale on which the papers' weights balance it against an O(1) adversarial loss (alpha-GAN's
    lambda sweep {1, 5, 10, 50}, IVGAN's lambda = 0.25); a per-sample sum over 64x64x3 pixels would
    be ~10^4 times larger. Shapes must match exactly (no broadcasting).
    """
    _check_same_shape(reconstruction, target)
    return (reconstruction.float() - target.float()).abs().mean()


def inverse_multiquadratic_mmd(prior_codes: Tensor, codes: Tensor, scales: tuple[float, ...] = (1.0,),
                               prior_variance: float = 1.0) -> Tensor:
    """Unbiased MMD^2 estimate between prior samples z and encoded codes z~ with the inverse
    multiquadratic kernel ``k(x, y) = C / (C + ||x - y||_2^2)``, ``C = 2 d sigma_z^2`` (the expected
    squared distance of two prior draws): WAE-MMD's penalty (Tolstikhin et al. 2017, Algorithm 2, §4):

        1/(n(n-1)) sum_{l != j} k(z_l, z_j) + 1/(m(m-1)) sum_{l != j} k(z~_l, z~_j) - 2/(nm) sum_{l,j} k(z_l, z~_j)

    ``scales`` multiply C; the estimate is summed over them ((1.0,) is the paper's single kernel, the WAE
    code sums 0.1, 0.2, 0.5, 1, 2, 5, 10). In float32; both inputs (batch >= 2, d). Zero in expectation
    when the codes follow the prior.
    """
    if prior_codes.ndim != 2 or codes.ndim != 2 or prior_codes.size(1) != codes.size(1) \
            or prior_codes.size(0) < 2 or codes.size(0) < 2:
        raise ValueError(f"inverse_multiquadratic_mmd needs two (batch >= 2, d) tensors of one d, got "
                         f"{tuple(prior_codes.shape)} and {tuple(codes.shape)}")
    if not scales or any(s <= 0 for s in scales):
        raise ValueError(f"scales must be a non-empty sequence of positive numbers, got {scales!r}")
    z, q = prior_codes.float(), codes.float()
    n, m, d = z.size(0), q.size(0), z.size(1)
    # Explicit differences rather than cdist: exact zeros on the diagonal and a finite gradient there.
    distances = tuple((a.unsqueeze(1) - b.unsqueeze(0)).pow(2).sum(-1) for a, b in ((z, z), (q, q), (z, q)))
    total = z.new_zeros(())
    for scale in scales:
        c = 2.0 * d * prior_variance * scale
        k_zz, k_qq, k_zq = (c / (c + squared) for squared in distances)
        within_prior = (k_zz.sum() - k_zz.diagonal().sum()) / (n * (n - 1))
        within_codes = (k_qq.sum() - k_qq.diagonal().sum()) / (m * (m - 1))
        total = total + within_prior + within_codes - 2.0 * k_zq.mean()
    return total


def wae_squared_l2_cost(reconstruction: Tensor, target: Tensor) -> Tensor:
    """WAE's reconstruction cost c(x, y) = ||x - y||_2^2 as its authors' code computes it ('l2sq':
    ``0.05 * reduce_mean(reduce_sum(square(real - reconstr), axis=[1, 2, 3]))``): the squared error
    summed over each sample's elements, averaged over the batch, times 0.05. The cost of IVAAE and its
    WAE baselines (ivaae.txt §4 follows WAE). In float32; shapes must match exactly.
    """
    return 0.05 * squared_l2_reconstruction(reconstruction, target)
