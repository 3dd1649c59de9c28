"""Running the model on a machine: fitting, the fitted model that generates rows, the training loop, DDP
collectives, device and thread policy, checkpoints. The only layer that joins table/ and diffusion/."""
