"""The diffusion model proper: noise schedule, denoiser network, parameterization, samplers, the sampling
loop and its random draws. Tensors and a table.layout.Layout in, tensors out: never a DataFrame."""
