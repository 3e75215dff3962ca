"""The VLM-FO1 model core: configs, encoders, region encoder, splicing, generation, checkpoints."""
