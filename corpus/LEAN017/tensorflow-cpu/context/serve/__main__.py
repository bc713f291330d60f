import tensorflow as tf
from flask import Flask

model = tf.keras.models.load_model('model.keras')
