"""Ship a trained detector: ONNX export with a parity proof, onnxruntime scoring, the Gradio app.

The layer sits above :mod:`hf_aidetect.inference` (it reuses its loading, preprocessing, prediction and
explanations) and below the CLI:

* :mod:`.onnx_export` -- ``hf-aidetect export``: the ONNX graph, the files beside it, ``export_report.json``;
* :mod:`.onnx_checks` -- the parity proof (PyTorch vs onnxruntime) and the int8 accuracy check;
* :mod:`.onnx_detector` -- an exported folder as a detector (``predict`` / ``evaluate --backend onnx``);
* :mod:`.app` -- ``hf-aidetect app``: the Gradio web app (also what a pushed Space runs).
"""
