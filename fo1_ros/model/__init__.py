"""The VLM-FO1 model core: configs, encoders, region encoder, splicing, generation, checkpoints.

Modules: ``config`` (FO1Config and presets), ``constants`` (placeholder ids), ``vision`` (the
Qwen2.5-VL ViT and DaViT towers, projectors), ``region`` (HFRE, the region encoder),
``roi_align`` (RoIAlign in plain torch), ``boxes`` (box ops, IoU, NMS in plain torch),
``modeling`` (FO1ForCausalLM: encoding, splicing, M-RoPE, generation), ``processing`` (image
preprocessing for both towers), ``prompt`` (prompt ids with image/object slots), ``tokenizer``,
``checkpoint`` (official parameter names, loading and saving), ``summary`` (parameter counts:
``python -m fo1_ros.model.summary --preset fo1-3b``).
"""
