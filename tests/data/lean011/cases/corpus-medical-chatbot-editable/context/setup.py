from setuptools import find_packages, setup

setup(
    name="medical_chatbot",
    version="0.1.0",
    author="muhammed shihad",
    author_email="mshihadkp7@gmail.com",
    packages=find_packages(),
    install_requires=[]
)