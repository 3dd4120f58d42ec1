console.log("bench: no scenarios yet");
