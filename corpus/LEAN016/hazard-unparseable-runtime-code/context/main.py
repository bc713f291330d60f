import legacy
print 'ready'
