from setuptools import setup
setup(name="face_recognition")
