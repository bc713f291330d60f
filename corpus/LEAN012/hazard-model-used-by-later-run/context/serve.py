import onnx
