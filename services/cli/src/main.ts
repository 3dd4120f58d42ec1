console.log("meshtune");
