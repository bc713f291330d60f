console.log('legacy');
