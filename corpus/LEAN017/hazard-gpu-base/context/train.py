import torch
import tensorflow as tf
