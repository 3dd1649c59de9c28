"""The diffusion model proper: noise schedules, the denoiser network, samplers."""
