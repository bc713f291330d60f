import dlib, mpi4py
print("ok")
