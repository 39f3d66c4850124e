"""Training: model templates, pretraining base models, transfer learning, int8 quantisation."""
